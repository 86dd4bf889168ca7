package recall

import (
	"testing"

	"github.com/recallbot/recallbot/ledger"
)

// TestAGroupIsNeverCountedAsPeople: a receipt of two messages in a group
// and a broadcast to two people counts a group and two people, not four
// people, and reads summed over messages read as 人次 in Chinese (a person
// who read two messages counts twice), not as 次 of something unsaid.
func TestAGroupIsNeverCountedAsPeople(t *testing.T) {
	group := ledger.Entry{Chat: ledger.Chat{Family: ledger.Group, ConversationID: "cidG=="}}
	packed := ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}, Recipients: []string{"u1", "u2"}}
	mixed := []Item{{Outcome: WouldRecall, Entry: group}, {Outcome: WouldRecall, Entry: group}, {Outcome: WouldRecall, Entry: packed}}
	for _, tc := range []struct {
		name, loc, want string
		r               Receipt
	}{
		{"a group and people", "zh", "3 条将被撤回 · 1 个群，以及单聊中的 2 人", Receipt{DryRun: true, Items: mixed}},
		{"a group and people", "en", "3 would be recalled · 1 group and 2 people in chats of their own", Receipt{DryRun: true, Items: mixed}},
		{"reads", "zh", "2 条已撤回 · 撤回前共 3 人次已读",
			Receipt{Items: []Item{{Outcome: Recalled, Reads: &Reads{Read: 2}}, {Outcome: Recalled, Reads: &Reads{Read: 1}}}}},
		{"reads so far", "zh", "2 条将被撤回 · 目前共 0 人次已读",
			Receipt{DryRun: true, Items: []Item{{Outcome: WouldRecall, Reads: &Reads{}}, {Outcome: WouldRecall, Reads: &Reads{}}}}},
	} {
		if got := tc.r.Summary(tc.loc); got != tc.want {
			t.Errorf("%s (%s): Summary = %q, want %q", tc.name, tc.loc, got, tc.want)
		}
	}
}
