package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// TestResolvedCountReadsAsEnglish: a group whose alerts have all resolved
// says so as a person would: "resolved" for one alert, "both resolved" for
// two, "all 3 resolved" for more; never "all 2 resolved".
func TestResolvedCountReadsAsEnglish(t *testing.T) {
	d := drawing{Locale: "en", MaxAlerts: 5, Now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		n         int
		want, not string
	}{
		{1, "db · resolved ·", "all 1"},
		{2, "db · both resolved ·", "all 2"},
		{3, "db · all 3 resolved ·", ""},
	} {
		st := stateWith(c.n, 0)
		for i := range st.Alerts {
			st.Alerts[i].Status, st.Alerts[i].EndsAt = "resolved", d.Now
		}
		m := draw(st, ledger.AlertGroup{ID: "a1b2c3"}, d)
		if !strings.Contains(m.Markdown, c.want) || c.not != "" && strings.Contains(m.Markdown, c.not) {
			t.Errorf("%d resolved: want %q, not %q:\n%s", c.n, c.want, c.not, m.Markdown)
		}
	}
}
