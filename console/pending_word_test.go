package console

import (
	"strings"
	"testing"
)

// TestPendingHasItsOwnWord: the console names the pending state as the
// chat and the CLI do, 结果待定, in its filter, its error and its hint.
func TestPendingHasItsOwnWord(t *testing.T) {
	for _, key := range []string{"state.pending", "err.state", "entries.hint.pending"} {
		if got := say("zh", key); !strings.Contains(got, "结果待定") || strings.Contains(got, "待确认") {
			t.Errorf("%s (zh) = %q, want 结果待定 and no 待确认", key, got)
		}
	}
}
