package config_test

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/config"
)

// TestAlertsConfig: the alerts section decodes strictly like the rest
// (an unknown key names its line and section), and every invalid value is
// refused naming its field.
func TestAlertsConfig(t *testing.T) {
	vars := env(map[string]string{"SECRET": "s", "TOKEN": "0123456789abcdef", "AM": "http://127.0.0.1:9093"})
	cfg, err := config.Parse([]byte(minimal+`alerts:
  style: markdown
  on_resolved: recall
  routes:
    db-oncall: {group: cidXXXX}
    web: {users: [u1, u2]}
  default: {user: u3}
  alertmanager_url: ${AM}
  responders: [oncall042]
`), vars)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Alerts
	if a.Style != alerts.StyleMarkdown || a.OnResolved != alerts.ResolvedRecall || a.Routes["db-oncall"].Group != "cidXXXX" ||
		len(a.Routes["web"].Users) != 2 || a.Default.User != "u3" || a.AlertmanagerURL != "http://127.0.0.1:9093" || a.Responders[0] != "oncall042" {
		t.Errorf("alerts = %+v", a)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"alerts:\n  stlye: card\n", `line 10: unknown key "stlye" in alerts`},
		{"alerts:\n  routes:\n    db: {grop: cid}\n", `line 11: unknown key "grop" in an alerts route or default`},
		{"alerts:\n  style: fancy\n", `alerts.style: must be card or markdown`},
		{"alerts:\n  routes:\n    db: {group: a, user: b}\n", "alerts.routes.db: name exactly one"},
		{"alerts:\n  alertmanager_url: 9093\n", "alerts.alertmanager_url"},
	} {
		if _, err := config.Parse([]byte(minimal+tc.yaml), vars); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
