package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestRedelivery: Stream redelivers, and a command runs once per msgId
// however often it arrives, before or after a restart.
func TestRedelivery(t *testing.T) {
	t.Parallel()
	t.Run("runs once", testRedeliveredCommandRunsOnce)
	t.Run("after a restart runs once", testRedeliveryAfterARestartRunsOnce)
}

func testRedeliveredCommandRunsOnce(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(3)
	h.srv.DropACKs(1) // the bot ACKs; the ACK is lost; DingTalk pushes again
	msgID, _ := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"})
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(privCID)) == 1 }); err != nil {
		t.Fatal(err)
	}
	h.srv.RedeliverNow()
	if err := h.srv.WaitUntil(h.ctx(), func() bool { d, _ := h.srv.Delivery(msgID); return d.Attempts == 2 && d.ACKs == 1 }); err != nil {
		d, _ := h.srv.Delivery(msgID)
		t.Fatalf("delivery %+v, stream %+v: %v", d, h.srv.StreamStats(), err)
	}
	if err := waitFor(h.ctx(), func() bool { return h.loggedDuplicate(msgID) }); err != nil {
		t.Fatalf("the redelivery was not recognised: %v", err)
	}
	h.srv.DuplicateFrames(1)
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(privCID)) >= 2 && h.srv.StreamStats().ACKed >= 2 }); err != nil {
		t.Fatal(err)
	}
	// Flush: a later command's reply proves the duplicates were handled.
	h.say(admin, "/status")
	if n := len(h.botReplies(privCID)); n != 3 {
		t.Errorf("%d replies, want 3: each command once", n)
	}
	if got := h.recalledCount(); got != 2 {
		t.Errorf("%d recalled, want 2", got)
	}
}

// testRedeliveryAfterARestartRunsOnce: the command's msgId is on the ledger
// file, so a redelivery that reaches the bot after it restarted is ignored.
func testRedeliveryAfterARestartRunsOnce(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(2)
	h.srv.DropACKs(1)
	msgID, _ := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"})
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(privCID)) == 1 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The same process restarts on the same ledger file.
	log, _ := app.NewLogger(config.Log{Level: "info", Format: "json"}, h.logs, h.app.Config.Secrets())
	h.app = app.New(h.app.Config, log, app.Options{Now: h.clock.Now})
	if err := h.app.Open(ctx); err != nil {
		t.Fatal(err)
	}
	h.srv.RedeliverNow()
	if err := h.srv.WaitUntil(ctx, func() bool { d, _ := h.srv.Delivery(msgID); return d.Attempts == 2 && d.ACKs == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, func() bool { return h.loggedDuplicate(msgID) }); err != nil {
		t.Fatalf("the redelivered command was not recognised: %v", err)
	}
	if n := len(h.botReplies(privCID)); n != 1 {
		t.Errorf("%d replies, want 1: the redelivered command ran again after the restart", n)
	}
	if n := h.recalledCount(); n != 1 {
		t.Errorf("%d recalled, want 1", n)
	}
}
