package recall

import "testing"

// TestResolveResultInWords: a resolve record's result (the state it set,
// kept as its outcome) reads in words, in the reader's language, as the
// chat's /audit, the CLI's audit and the console say results
// (CountsIn); no state's code shows.
func TestResolveResultInWords(t *testing.T) {
	for _, c := range []struct {
		outcome, locale, want string
	}{
		{"send_failed", "zh", "1 条标记为发送失败"},
		{"send_failed", "en", "1 marked send failed"},
		{"sent with key abc123==", "zh", "1 条标记为已发送"},
		{"sent with key abc123==", "en", "1 marked sent"},
	} {
		got := CountsIn(CountOutcomes(map[string]string{"#11": c.outcome}), c.locale)
		if got != c.want {
			t.Errorf("CountsIn(resolve to %q, %s) = %q, want %q", c.outcome, c.locale, got, c.want)
		}
	}
	if got := Present(CountOutcomes(map[string]string{"#11": "send_failed", "k": "recalled"})); len(got) != 2 || got[0] != Recalled || got[1] != "send_failed" {
		t.Errorf("Present = %v, want recalled then send_failed", got)
	}
}
