package demo

import (
	"context"
	"strings"
	"testing"
)

// TestDemoAlerts: `recallbot demo -alerts` plays an alert group's life
// (fires, repeats, changes, resolves) as one card updated in place.
func TestDemoAlerts(t *testing.T) {
	for _, locale := range []string{"en", "zh"} {
		var out strings.Builder
		if err := Run(context.Background(), Options{Locale: locale, Alerts: true}, &out); err != nil {
			t.Fatalf("%s: %v\n%s", locale, err, out.String())
		}
		want := map[string][]string{
			"en": {"[card] 🔥 [FIRING] DiskFull", "[card, updated in place ×1] 🔥 [FIRING]", "[card, updated in place ×2] ✅ [RESOLVED]", "1 card send, 2 updates in place"},
			"zh": {"[卡片] 🔥 [告警] DiskFull", "[卡片，已原地更新 1 次]", "[卡片，已原地更新 2 次] ✅ [已恢复]", "1 次发送卡片，2 次原地更新"},
		}[locale]
		// A member's view shows no markdown nothing renders: no code
		// span's backquotes, no link's brackets.
		for _, bad := range []string{"`", "]("} {
			if strings.Contains(out.String(), bad) {
				t.Errorf("%s: the transcript shows raw markdown %q:\n%s", locale, bad, out.String())
			}
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: the transcript lacks %q:\n%s", locale, w, out.String())
			}
		}
	}
}
