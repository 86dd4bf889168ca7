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

// TestReceiptSaysTheCallsItMade: a finished recall's page counts the calls
// it made (用了), where a preview counts the calls it would need (需).
func TestReceiptSaysTheCallsItMade(t *testing.T) {
	for _, tc := range []struct{ loc, key, want string }{
		{"zh", "receipt.scope", "范围：批次 b-1 · 用了 2 次撤回接口调用"},
		{"en", "receipt.scope", "Scope: batch b-1 · 2 recall calls made"},
		{"zh", "preview.scope", "范围：批次 b-1 · 需 2 次撤回接口调用"},
	} {
		scope := map[string]string{"zh": "批次 b-1", "en": "batch b-1"}[tc.loc]
		if got := say(tc.loc, tc.key, scope, 2); got != tc.want {
			t.Errorf("%s (%s) = %q, want %q", tc.key, tc.loc, got, tc.want)
		}
	}
}
