package app_test

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestAlertGroupIsOneCard: a group's first notification is a card; a
// repeat adds nothing; a change updates the card in place; its resolution
// updates it to say so. The chat never shows more than the one card.
func TestAlertGroupIsOneCard(t *testing.T) {
	t.Parallel()
	h := startAlerts(t, dingtalktest.Options{}, alerts.StyleCard)
	db1 := amAlert{Name: "DiskFull", Instance: "db1", Summary: "disk 95% on db1"}
	for _, tok := range []string{"", "wrong-token-0123456789"} { // behind the API's bearer token
		if r, _ := h.do("POST", "/v1/alerts/alertmanager", tok, amNotification("db-oncall", "DiskFull", db1)); r.StatusCode != 401 {
			t.Errorf("token %q: %d", tok, r.StatusCode)
		}
	}
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1))
	card := h.settled("disk 95% on db1")
	if card.Card == nil || !strings.Contains(card.Card.Title, "FIRING") || !strings.Contains(card.Text, "#"+alerts.ShortID(h.groupOf().ID)) {
		t.Fatalf("first message: %+v", card)
	}

	h.mustNotify(amNotification("db-oncall", "DiskFull", db1)) // a repeat
	if h.groupOf().Due() || h.srv.CountCalls(dingtalktest.PathCardSend) != 1 || h.srv.CountCalls(dingtalktest.PathCardUpdate) != 0 {
		t.Errorf("a repeat made work: due %v, %d sends, %d updates", h.groupOf().Due(), h.srv.CountCalls(dingtalktest.PathCardSend), h.srv.CountCalls(dingtalktest.PathCardUpdate))
	}

	db2 := amAlert{Name: "DiskFull", Instance: "db2", Summary: "disk 91% on db2"}
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1, db2))
	card = h.settled("disk 91% on db2")
	if card.Updates != 1 || card.ProcessQueryKey != h.groupOf().Key || !strings.Contains(card.Text, "2 firing") {
		t.Errorf("after the change: %d updates, text %q", card.Updates, card.Text)
	}

	db1.Resolved, db2.Resolved = true, true
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1, db2))
	card = h.settled("RESOLVED")
	if card.Updates != 2 || h.srv.CountCalls(dingtalktest.PathCardSend) != 1 || !h.groupOf().Closed {
		t.Errorf("after the resolution: %d updates, %d sends, %+v", card.Updates, h.srv.CountCalls(dingtalktest.PathCardSend), h.groupOf())
	}
}

// TestAlertGroupIsOneMarkdownMessage: with style markdown a change sends
// the group's new message and then recalls the old one (the chat is never
// without the group's state); a repeat adds nothing; the resolution
// supersedes it with the resolved message. Each is an ordinary ledger
// entry with its group attached, listed by /sent.
func TestAlertGroupIsOneMarkdownMessage(t *testing.T) {
	t.Parallel()
	h := startAlerts(t, dingtalktest.Options{}, alerts.StyleMarkdown)
	db1 := amAlert{Name: "DiskFull", Instance: "db1", Summary: "disk 95% on db1"}
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1))
	first := h.settled("disk 95% on db1")
	if first.MsgKey != "sampleMarkdown" || h.srv.CountCalls(dingtalktest.PathCardSend) != 0 {
		t.Fatalf("first message: %+v", first)
	}
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1))
	if h.groupOf().Due() || h.srv.CountCalls(dingtalktest.PathGroupSend) != 1 {
		t.Errorf("a repeat made work")
	}

	db2 := amAlert{Name: "DiskFull", Instance: "db2", Summary: "disk 91% on db2"}
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1, db2))
	second := h.settled("disk 91% on db2")
	if m, _ := h.srv.Message(first.ProcessQueryKey); !m.Recalled || second.ProcessQueryKey == first.ProcessQueryKey {
		t.Errorf("the superseded message is still shown: %+v", m)
	}
	// The new one was sent before the old one was recalled.
	sends, recalls := h.srv.CallsTo(dingtalktest.PathGroupSend), h.srv.CallsTo(dingtalktest.PathGroupRecall)
	if len(sends) != 2 || len(recalls) != 1 || !recalls[0].Time.After(sends[1].Time) {
		t.Errorf("%d sends, %d recalls: the chat may have been left without the group", len(sends), len(recalls))
	}

	db1.Resolved, db2.Resolved = true, true
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1, db2))
	h.settled("RESOLVED")
	g := h.groupOf()
	e, err := h.app.Ledger.Get(h.ctx(), g.Entry)
	if err != nil || e.Alert != g.ID || e.Origin != "auto" || !strings.HasPrefix(e.Excerpt, "["+alerts.ShortID(g.ID)+"]") {
		t.Errorf("the group's entry: %+v, %v", e, err)
	}
	r, body := h.do("GET", "/v1/conversations/"+alertCID+"/messages?family=group", testToken, "")
	listed, _ := body["messages"].([]any)
	if r.StatusCode != 200 || len(listed) != 3 {
		t.Fatalf("listing: %d %v", r.StatusCode, body)
	}
	for _, m := range listed {
		if m.(map[string]any)["alert_group"] != g.ID {
			t.Errorf("an alert's entry without its group: %v", m)
		}
	}
	if reply := h.sayIn(alertCID, admin, "/sent"); strings.Count(reply, "DiskFull") != 3 || strings.Count(reply, "recalled") != 2 {
		t.Errorf("/sent:\n%s", reply)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10})
	if len(recs) != 2 || recs[0].Actor != "alerts:db-oncall" {
		t.Errorf("the supersedes' recalls are not audited: %+v", recs)
	}
	_, m := h.do("GET", "/metrics", "", "")
	for _, want := range []string{
		`recallbot_alert_notifications_total{result="taken",route="db-oncall",source="alertmanager"} 4`,
		`recallbot_alert_messages_total{outcome="sent",route="db-oncall"} 1`,
		`recallbot_alert_messages_total{outcome="superseded",route="db-oncall"} 2`,
		`recallbot_alert_messages_total{outcome="recalled",route="db-oncall"} 2`,
	} {
		if !strings.Contains(m["raw"].(string), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestAlertTextIsRedacted: a secret in what a notification says (a
// password in an annotation) never reaches the chat or the ledger's
// excerpt; markdown in it stays inert.
func TestAlertTextIsRedacted(t *testing.T) {
	t.Parallel()
	h := startAlerts(t, dingtalktest.Options{}, alerts.StyleMarkdown)
	h.mustNotify(amNotification("db-oncall", "Leak", amAlert{Name: "Leak", Instance: "db1", Summary: "login failed with password=hunter2-Secret99 see [here](http://evil.example)"}))
	m := h.settled("login failed")
	if strings.Contains(m.Text, "hunter2") || !strings.Contains(m.Text, "redacted") || strings.Contains(m.Text, "](http://evil") {
		t.Errorf("the chat shows:\n%s", m.Text)
	}
}
