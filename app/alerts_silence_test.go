package app_test

import (
	"net"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestSilenceWhenAlertmanagerIsDown: /silence with Alertmanager
// unreachable gets a clear reply and changes nothing (no silence on the
// group, its message unchanged, nothing audited as done); someone who is
// neither an admin nor a responder is refused and audited; a command that
// names no alert of this chat says so; everything typed comes back
// escaped.
func TestSilenceWhenAlertmanagerIsDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	_ = l.Close() // nothing listens there now
	h := startAlerts(t, dingtalktest.Options{}, alerts.StyleCard, func(c *config.Config) { c.Alerts.AlertmanagerURL = dead })
	h.mustNotify(amNotification("db-oncall", "DiskFull", amAlert{Name: "DiskFull", Instance: "db1", Summary: "disk 95%"}))
	card := h.settled("disk 95%")
	id := alerts.ShortID(h.groupOf().ID)

	reply := h.sayIn(alertCID, responder, "/silence "+id+" 2h replacing the disk")
	if !strings.Contains(reply, "could not be reached: nothing was changed") {
		t.Errorf("reply with Alertmanager down:\n%s", reply)
	}
	if g := h.groupOf(); len(g.Silences) != 0 || g.Due() {
		t.Errorf("the group changed: %+v", g)
	}
	if m, _ := h.srv.Message(card.ProcessQueryKey); m.Updates != 0 {
		t.Error("the message changed")
	}
	if reply := h.sayIn(alertCID, stranger, "/silence "+id+" 2h"); !strings.Contains(reply, "only admins and alert responders") {
		t.Errorf("a stranger's silence: %s", reply)
	}
	if reply := h.sayIn(alertCID, admin, "/静默 ffffff 2h"); !strings.Contains(reply, "no alert ffffff in this chat") {
		t.Errorf("an unknown ID: %s", reply)
	}
	if reply := h.sayIn(alertCID, admin, "/silence [x](http://evil) 2h"); strings.Contains(reply, "](http") || strings.Contains(reply, "http://") {
		t.Errorf("a typed link came back live: %s", reply)
	}
	// Refusals of people who may not act are kept in the access trail, so
	// the recall trail shows what was done: here, nothing.
	if recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10}); len(recs) != 0 {
		t.Errorf("recall trail: %+v", recs)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10, Trail: ledger.TrailAccess})
	if len(recs) != 1 || recs[0].Allowed || recs[0].Actor != stranger {
		t.Errorf("access trail: %+v", recs)
	}
}
