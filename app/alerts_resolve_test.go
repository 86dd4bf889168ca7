package app_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestOnResolved: recall leaves nothing in the chat (the message is
// recalled and ledgered so); keep leaves the message as it was; update
// (TestAlertGroupIsOneCard) says it resolved. A group that fires again
// after it resolved gets a new message, which rings, and with update the
// old resolved one goes once the new one is there.
func TestOnResolved(t *testing.T) {
	t.Parallel()
	db1 := amAlert{Name: "DiskFull", Instance: "db1", Summary: "disk 95% on db1"}
	gone := db1
	gone.Resolved = true

	t.Run("recall", func(t *testing.T) {
		t.Parallel()
		h := startAlerts(t, dingtalktest.Options{}, alerts.StyleCard, func(c *config.Config) { c.Alerts.OnResolved = alerts.ResolvedRecall })
		h.mustNotify(amNotification("db-oncall", "DiskFull", db1))
		card := h.settled("disk 95%")
		h.mustNotify(amNotification("db-oncall", "DiskFull", gone))
		if err := waitFor(h.ctx(), func() bool { return len(h.shown()) == 0 && h.idle() }); err != nil {
			t.Fatalf("the resolved group's card is still shown: %q", texts(h.shown()))
		}
		if e, _ := h.app.Ledger.ByKey(h.ctx(), card.ProcessQueryKey); e.State != ledger.Recalled {
			t.Errorf("its entry is %s", e.State)
		}
	})
	t.Run("keep", func(t *testing.T) {
		t.Parallel()
		h := startAlerts(t, dingtalktest.Options{}, alerts.StyleCard, func(c *config.Config) { c.Alerts.OnResolved = alerts.ResolvedKeep })
		h.mustNotify(amNotification("db-oncall", "DiskFull", db1))
		h.settled("disk 95%")
		h.mustNotify(amNotification("db-oncall", "DiskFull", gone))
		if err := waitFor(h.ctx(), func() bool { return h.idle() && h.groupOf().Closed }); err != nil {
			t.Fatal(err)
		}
		if ms := h.shown(); len(ms) != 1 || ms[0].Updates != 0 || !strings.Contains(ms[0].Text, "FIRING") {
			t.Errorf("keep changed the message: %+v", ms)
		}
	})
	t.Run("fires again", func(t *testing.T) {
		t.Parallel()
		h := startAlerts(t, dingtalktest.Options{}, alerts.StyleCard)
		h.mustNotify(amNotification("db-oncall", "DiskFull", db1))
		first := h.settled("disk 95%")
		h.mustNotify(amNotification("db-oncall", "DiskFull", gone))
		h.settled("RESOLVED")
		again := db1
		again.StartsAt = alertsEpoch.Add(3 * time.Hour)
		h.mustNotify(amNotification("db-oncall", "DiskFull", again))
		second := h.settled("FIRING")
		if second.ProcessQueryKey == first.ProcessQueryKey || h.srv.CountCalls(dingtalktest.PathCardSend) != 2 {
			t.Errorf("a new firing did not get a new message")
		}
		if m, _ := h.srv.Message(first.ProcessQueryKey); !m.Recalled {
			t.Error("the old resolved message stayed beside the new one")
		}
	})
}

// TestCardsRefusedFallBackToMarkdown: an app DingTalk refuses cards
// (either way it does) sends its alerts as markdown, superseded on change;
// the refusal is logged once and /status says so.
func TestCardsRefusedFallBackToMarkdown(t *testing.T) {
	t.Parallel()
	for _, refusal := range []dingtalktest.CardRefusal{dingtalktest.CardsPermissionDenied, dingtalktest.CardsTemplateMissing} {
		t.Run(string(refusal), func(t *testing.T) {
			t.Parallel()
			h := startAlerts(t, dingtalktest.Options{CardRefusal: refusal}, alerts.StyleCard)
			db1 := amAlert{Name: "DiskFull", Instance: "db1", Summary: "disk 95% on db1"}
			h.mustNotify(amNotification("db-oncall", "DiskFull", db1))
			first := h.settled("disk 95%")
			if first.MsgKey != "sampleMarkdown" {
				t.Fatalf("after a refused card: %+v", first)
			}
			db2 := amAlert{Name: "DiskFull", Instance: "db2", Summary: "disk 91% on db2"}
			h.mustNotify(amNotification("db-oncall", "DiskFull", db1, db2))
			h.settled("disk 91%")
			if m, _ := h.srv.Message(first.ProcessQueryKey); !m.Recalled || h.srv.CountCalls(dingtalktest.PathCardSend) != 1 {
				t.Errorf("not superseded as markdown: recalled %v, %d card sends", m.Recalled, h.srv.CountCalls(dingtalktest.PathCardSend))
			}
			if n := strings.Count(h.logs.String(), "refuses this app's interactive cards"); n != 1 {
				t.Errorf("the refusal was logged %d times", n)
			}
			if reply := h.sayIn(alertCID, stranger, "/status"); !strings.Contains(reply, "refuses this app's interactive cards") {
				t.Errorf("/status:\n%s", reply)
			}
		})
	}
}

// TestGrafanaNotifications: Grafana's webhook (bodies written from
// grafana/alerting's webhook v1) makes one card with its panel and
// silence links; a repeat whose values and dashboard time range moved is
// no change; the resolution updates it.
func TestGrafanaNotifications(t *testing.T) {
	t.Parallel()
	h := startAlerts(t, dingtalktest.Options{}, alerts.StyleCard)
	read := func(name string) string {
		b, err := os.ReadFile("../alerts/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if st, out := h.notifyAlerts(alerts.SourceGrafana, read("grafana-firing.json")); st != 200 {
		t.Fatalf("grafana: %d %v", st, out)
	}
	card := h.settled("CPU above 90% on web2")
	var labels []string
	for _, b := range card.Card.Blocks {
		for _, bt := range b.Buttons {
			labels = append(labels, bt.Label+" "+bt.URL)
		}
	}
	if all := strings.Join(labels, "\n"); !strings.Contains(all, "Panel https://grafana.example.com/d/abc123?") || !strings.Contains(all, "viewPanel=4") ||
		!strings.Contains(all, "Silence https://grafana.example.com/alerting/silence/new?") || !strings.Contains(card.Card.Color, "orange") {
		t.Errorf("the card's buttons:\n%s\ncolour %s", all, card.Card.Color)
	}
	if st, _ := h.notifyAlerts(alerts.SourceGrafana, read("grafana-repeat.json")); st != 200 || h.groupOf().Due() {
		t.Errorf("a Grafana repeat made work: %d", st)
	}
	if st, _ := h.notifyAlerts(alerts.SourceGrafana, read("grafana-resolved.json")); st != 200 {
		t.Fatal(st)
	}
	if card = h.settled("RESOLVED"); card.Updates != 1 {
		t.Errorf("the resolution: %+v", card)
	}
	if st, out := h.notifyAlerts(alerts.SourceAlertmanager, read("grafana-firing.json")); st != 400 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "/v1/alerts/grafana") {
		t.Errorf("Grafana's body at the Alertmanager endpoint: %d %v", st, out)
	}
}
