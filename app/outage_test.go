package app_test

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestLedgerOutageCommandGetsAReply: while the ledger is down an admin's
// command is not run (it could run twice) but the admin is told so; the
// reply's key waits in the spool and reaches the ledger when it is back.
func TestLedgerOutageCommandGetsAReply(t *testing.T) {
	t.Parallel()
	r := ledgertest.Own(t)
	h := start(t, dingtalktest.Options{}, func(c *config.Config) {
		c.Ledger.RedisURL = r.URL
		c.Ledger.Spool = c.Ledger.Path + ".spool"
	})
	h.notify(1)
	r.Kill()
	// Without its ledger the bot cannot tell this chat's kind: it answers
	// in the admin's own 1:1 chat with it.
	oto := func() []dingtalktest.Message {
		c, _ := h.srv.UserConversation(admin)
		return c.Messages
	}
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(oto()) > 0 }); err != nil {
		t.Fatalf("no reply during the outage: %v\n%s", err, h.logs.String())
	}
	reply := oto()[0]
	if !strings.Contains(reply.Text, "ledger is unavailable") {
		t.Fatalf("reply during the outage: %q", reply.Text)
	}
	if h.recalledCount() != 0 {
		t.Error("the command ran without a ledger")
	}
	// A stranger's attempt during the outage is refused and audited, late.
	strangerTried := func() bool { c, _ := h.srv.UserConversation(stranger); return len(c.Messages) > 0 }
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: stranger, Text: "/recall last 3"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), strangerTried); err != nil {
		t.Fatalf("no reply to the stranger during the outage: %v", err)
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	deniedAudited := func() bool {
		recs, err := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 20, Trail: ledger.TrailAccess})
		for _, rec := range recs {
			if rec.Actor == stranger && rec.Action == "denied" {
				return true
			}
		}
		_ = err
		return false
	}
	if err := waitFor(h.ctx(), deniedAudited); err != nil {
		t.Errorf("the stranger's attempt during the outage was never audited: %v\n%s", err, h.logs.String())
	}
	key := reply.ProcessQueryKey
	if err := waitFor(h.ctx(), func() bool { _, err := h.app.Ledger.ByKey(h.ctx(), key); return err == nil }); err != nil {
		t.Fatalf("the reply's key never reached the ledger: %v\n%s", err, h.logs.String())
	}
	if reply := h.say(admin, "/recall last 1"); !strings.Contains(reply, "1 recalled") {
		t.Errorf("after the outage: %q", reply)
	}
}
