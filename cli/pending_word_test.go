package cli

import (
	"strings"
	"testing"
)

// TestPendingHasItsOwnWord: the CLI names the pending state as the chat
// and the console do, 结果待定, not 待确认 (/confirm) or 结果未知 (unknown).
func TestPendingHasItsOwnWord(t *testing.T) {
	if got := texts["state.pending"][0]; got != "结果待定" {
		t.Errorf("state.pending (zh) = %q, want 结果待定", got)
	}
	if got := texts["reason.pending"][0]; !strings.Contains(got, "结果待定") || strings.Contains(got, "结果未知") {
		t.Errorf("reason.pending (zh) = %q: a pending entry's outcome is 结果待定, 结果未知 is the unknown state", got)
	}
}
