package recall

import (
	"testing"

	"github.com/recallbot/recallbot/ledger"
)

// TestSummaryReadsAsOnePhrase: a receipt's summary follows its title's
// colon with no colon of its own, counts only what was found (never "5
// requested" when 2 exist), says when a recall of the last N found fewer,
// keeps the people an already recalled broadcast reached, and counts
// reads as reads, in each language.
func TestSummaryReadsAsOnePhrase(t *testing.T) {
	packed := ledger.Entry{Recipients: []string{"u1", "u2"}}
	for _, tc := range []struct {
		name, loc, want string
		r               Receipt
	}{
		{"mixed", "zh", "4 条已撤回，1 条超过 24 小时无法撤回（共 5 条）",
			Receipt{Items: []Item{{Outcome: Recalled}, {Outcome: Recalled}, {Outcome: TooOld}, {Outcome: Recalled}, {Outcome: Recalled}}}},
		{"mixed", "en", "4 recalled, 1 too old (5 messages)",
			Receipt{Items: []Item{{Outcome: Recalled}, {Outcome: Recalled}, {Outcome: TooOld}, {Outcome: Recalled}, {Outcome: Recalled}}}},
		{"one kind", "zh", "1 条将被撤回", Receipt{DryRun: true, Items: []Item{{Outcome: WouldRecall}}}},
		{"fewer than asked", "en", "2 would be recalled (only 2 of the last 5 are in the ledger)",
			Receipt{DryRun: true, Asked: 5, Items: []Item{{Outcome: WouldRecall}, {Outcome: WouldRecall}}}},
		{"fewer than asked", "zh", "3 条将被撤回（最近 5 条中只有 3 条有发送记录）",
			Receipt{DryRun: true, Asked: 5, Items: []Item{{Outcome: WouldRecall}, {Outcome: WouldRecall}, {Outcome: WouldRecall}}}},
		{"recalled before", "zh", "1 条此前已撤回 · 共 2 人", Receipt{Items: []Item{{Outcome: AlreadyRecalled, Entry: packed}}}},
		{"recalled before", "en", "1 already recalled · 2 people", Receipt{Items: []Item{{Outcome: AlreadyRecalled, Entry: packed}}}},
		{"reads", "zh", "2 条已撤回 · 撤回前共 3 人次已读",
			Receipt{Items: []Item{{Outcome: Recalled, Reads: &Reads{Read: 2}}, {Outcome: Recalled, Reads: &Reads{Read: 1}}}}},
	} {
		if got := tc.r.Summary(tc.loc); got != tc.want {
			t.Errorf("%s (%s): Summary = %q, want %q", tc.name, tc.loc, got, tc.want)
		}
	}
}

// TestCountsAreOneVocabulary: the audit trail's outcomes, as records keep
// them, read as the receipt's own words in its order.
func TestCountsAreOneVocabulary(t *testing.T) {
	counts := CountOutcomes(map[string]string{"k1": "not_found", "k2": "recalled", "#3": "already_recalled", "k4": "failed:invalidParameter"})
	for _, tc := range []struct{ loc, want string }{
		{"zh", "1 条已撤回，1 条此前已撤回，1 条撤回失败，1 条不在发送记录中"},
		{"en", "1 recalled, 1 already recalled, 1 failed, 1 not in the ledger"},
	} {
		if got := CountsIn(counts, tc.loc); got != tc.want {
			t.Errorf("CountsIn(%s) = %q, want %q", tc.loc, got, tc.want)
		}
	}
}
