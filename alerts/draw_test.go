package alerts

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

func stateWith(n int, truncated int64) State {
	st := State{Notification: Notification{Source: SourceAlertmanager, Receiver: "db", GroupKey: "k", Status: "firing",
		GroupLabels: map[string]string{"alertname": "DiskFull"}, ExternalURL: "http://am:9093", Truncated: truncated}, Route: "db"}
	for i := range n {
		st.Alerts = append(st.Alerts, Alert{Status: "firing", Labels: map[string]string{"alertname": "DiskFull", "instance": fmt.Sprintf("db%d", i), "severity": "warning"},
			Annotations: map[string]string{"summary": fmt.Sprintf("disk full on db%d", i)}, StartsAt: time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC),
			GeneratorURL: "javascript:alert(1)", Fingerprint: fmt.Sprint(i)})
	}
	return st
}

// TestDrawListsUpToTheLimit: a message lists max_alerts alerts and says how
// many more there are (Alertmanager's truncated ones too); it draws only
// http(s) links; its colour follows the severity; its silences say who
// until when; it is the same in card and markdown.
func TestDrawListsUpToTheLimit(t *testing.T) {
	g := ledger.AlertGroup{ID: "a1b2c3d4e5f6"}
	d := drawing{Locale: "en", MaxAlerts: 3, CanSilence: true, Now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	m := draw(stateWith(5, 4), g, d)
	for _, want := range []string{"disk full on db2", "… and 6 more", "#a1b2c3", "5 firing", "/silence a1b2c3 2h"} {
		if !strings.Contains(m.Markdown, want) {
			t.Errorf("markdown lacks %q:\n%s", want, m.Markdown)
		}
	}
	if strings.Contains(m.Markdown, "db3") || strings.Contains(m.Markdown, "javascript") || strings.Contains(string(m.Card), "javascript") {
		t.Errorf("drew past the limit, or a javascript: link:\n%s", m.Markdown)
	}
	var card struct {
		Header struct {
			Title struct{ Text, Color string }
		}
		Contents []struct{ Type, Text string }
	}
	if err := json.Unmarshal(m.Card, &card); err != nil || card.Header.Title.Color != "common_orange1_color" || !strings.Contains(card.Header.Title.Text, "FIRING") {
		t.Fatalf("card %s: %v", m.Card, err)
	}
	g.Silences = []ledger.AlertSilence{{ID: "s1", By: "Li (u1)", Until: d.Now.Add(time.Hour), Comment: "disk swap"}, {ID: "s0", By: "old", Until: d.Now.Add(-time.Hour)}}
	m = draw(stateWith(1, 0), g, d)
	if !strings.Contains(m.Title, "SILENCED") || !strings.Contains(m.Markdown, "Li （u1） silenced the group until") || strings.Contains(m.Markdown, "old silenced") {
		t.Errorf("silenced:\n%s", m.Markdown)
	}
	d.Locale = "zh"
	if m = draw(stateWith(2, 0), ledger.AlertGroup{ID: "a1b2c3"}, d); !strings.Contains(m.Markdown, "2 条触发中") || !strings.Contains(m.Title, "[告警]") {
		t.Errorf("zh:\n%s", m.Markdown)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":"4","groupKey":"k","receiver":"r","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-30T07:00:00Z"}]}`), false)
	f.Add([]byte(`{"version":"1","orgId":1,"state":"ok","groupKey":"k","receiver":"r","status":"resolved","alerts":[{"status":"resolved","labels":{"a":"b"},"startsAt":"2026-11-30T07:00:00Z","endsAt":"2026-11-30T08:00:00Z"}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, grafana bool) {
		source := SourceAlertmanager
		if grafana {
			source = SourceGrafana
		}
		n, err := Decode(source, body)
		if err != nil {
			if _, ok := err.(*PayloadError); !ok {
				t.Fatalf("an error that is not a PayloadError: %v", err)
			}
			return
		}
		if n.Receiver == "" || n.GroupKey == "" || len(n.Alerts) == 0 {
			t.Fatalf("accepted %+v", n)
		}
		st := newState(n, "r")
		_ = draw(st, ledger.AlertGroup{ID: GroupID(n, ledger.Chat{Family: ledger.Group, ConversationID: "c"})}, drawing{MaxAlerts: 10})
	})
}
