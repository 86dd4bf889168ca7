package cli

import "testing"

// TestPendingHasItsOwnWord: the CLI names the pending state as the chat
// and the console do, 结果待定, not 待确认 (/confirm) or 结果未知 (unknown).
func TestPendingHasItsOwnWord(t *testing.T) {
	if got := texts["state.pending"][0]; got != "结果待定" {
		t.Errorf("state.pending (zh) = %q, want 结果待定", got)
	}
}
