package main

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestAlertGroupIsOneCard: a group's first notification is a card; a
// repeat adds nothing; a change updates the card in place; its resolution
// updates it to say so. The chat never shows more than the one card.
func TestAlertGroupIsOneCard(t *testing.T) {
	h := startAlerts(t, dingtalktest.Options{}, alerts.StyleCard)
	db1 := amAlert{name: "DiskFull", instance: "db1", summary: "disk 95% on db1"}
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1))
	card := h.settled("disk 95% on db1")
	if card.Card == nil || !strings.Contains(card.Card.Title, "FIRING") || !strings.Contains(card.Text, "#"+alerts.ShortID(h.groupOf().ID)) {
		t.Fatalf("first message: %+v", card)
	}

	h.mustNotify(amNotification("db-oncall", "DiskFull", db1)) // a repeat
	if h.groupOf().Due() || h.srv.CountCalls(dingtalktest.PathCardSend) != 1 || h.srv.CountCalls(dingtalktest.PathCardUpdate) != 0 {
		t.Errorf("a repeat made work: due %v, %d sends, %d updates", h.groupOf().Due(), h.srv.CountCalls(dingtalktest.PathCardSend), h.srv.CountCalls(dingtalktest.PathCardUpdate))
	}

	db2 := amAlert{name: "DiskFull", instance: "db2", summary: "disk 91% on db2"}
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1, db2))
	card = h.settled("disk 91% on db2")
	if card.Updates != 1 || card.ProcessQueryKey != h.groupOf().Key || !strings.Contains(card.Text, "2 firing") {
		t.Errorf("after the change: %d updates, text %q", card.Updates, card.Text)
	}

	db1.resolved, db2.resolved = true, true
	h.mustNotify(amNotification("db-oncall", "DiskFull", db1, db2))
	card = h.settled("RESOLVED")
	if card.Updates != 2 || h.srv.CountCalls(dingtalktest.PathCardSend) != 1 || !h.groupOf().Closed {
		t.Errorf("after the resolution: %d updates, %d sends, %+v", card.Updates, h.srv.CountCalls(dingtalktest.PathCardSend), h.groupOf())
	}
}
