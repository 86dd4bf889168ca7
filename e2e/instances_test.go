package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestTwoInstancesOneRedisLedger runs two bot processes with the same app
// credentials on one real redis-server. The emulator spreads frames over
// their two connections at random, as DingTalk does; where the test needs
// a frame to land on one instance, it drains the other's connection
// (SYSTEM disconnect) first.
func TestTwoInstancesOneRedisLedger(t *testing.T) {
	t.Parallel()
	r := ledgertest.Shared(t)
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1, DisconnectGrace: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_ = srv.AddConversation(privCID, dingtalktest.KindPrivate, "")
	dir := t.TempDir()
	addrA, addrB := freeAddr(t), freeAddr(t)
	ledgerLine := "redis_url: " + r.URL
	a := startProc(t, srv, procConfig(t, srv, dir, ledgerLine, addrA), addrA)
	connA := srv.Connections()[0].ID
	b := startProc(t, srv, procConfig(t, srv, dir, ledgerLine, addrB), addrB)
	connB := srv.Connections()[1].ID
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	replies := func() int {
		c, _ := srv.Conversation(privCID)
		n := 0
		for _, m := range c.Messages {
			if m.FromBot() && m.MsgKey == "sampleMarkdown" {
				n++
			}
		}
		return n
	}
	lastReply := func() string {
		c, _ := srv.Conversation(privCID)
		for i := len(c.Messages) - 1; i >= 0; i-- {
			if m := c.Messages[i]; m.FromBot() && m.MsgKey == "sampleMarkdown" {
				return m.Text
			}
		}
		return ""
	}

	// A sends; A's connection is drained, so B handles the recall command.
	for range 3 {
		if st, body := a.api("POST", "/v1/messages", `{"family":"private","conversation_id":"`+privCID+`","text":"sent by A"}`); st != 200 {
			t.Fatalf("send via A: %d %s", st, body)
		}
	}
	if err := srv.Disconnect(connA); err != nil {
		t.Fatal(err)
	}
	msgID, _ := srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 3"})
	if err := srv.WaitUntil(ctx, func() bool { return replies() == 1 }); err != nil {
		t.Fatal(err)
	}
	if d, _ := srv.Delivery(msgID); d.LastConn == connA {
		t.Fatal("the command went to A's drained connection")
	}
	if !strings.Contains(lastReply(), "3 recalled") {
		t.Errorf("B's receipt for A's messages: %q", lastReply())
	}

	// Wait for A to come back, then a redelivered command that lands on
	// the other instance runs once.
	if err := srv.WaitUntil(ctx, func() bool {
		for _, c := range srv.Connections() {
			if c.ID != connA && c.ID != connB {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("A did not reconnect: %v", err)
	}
	if st, body := a.api("POST", "/v1/messages", `{"family":"private","conversation_id":"`+privCID+`","text":"for the redelivery"}`); st != 200 {
		t.Fatalf("send via A: %d %s", st, body)
	}
	srv.DropACKs(1)
	msgID, _ = srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"})
	if err := srv.WaitUntil(ctx, func() bool { return replies() == 2 }); err != nil {
		t.Fatal(err)
	}
	first, _ := srv.Delivery(msgID)
	if err := srv.Disconnect(first.LastConn); err != nil { // the next push must take the other instance
		t.Fatal(err)
	}
	srv.RedeliverNow()
	if err := srv.WaitUntil(ctx, func() bool { d, _ := srv.Delivery(msgID); return d.ACKs == 1 && d.Attempts == 2 }); err != nil {
		t.Fatal(err)
	}
	if second, _ := srv.Delivery(msgID); second.LastConn == first.LastConn {
		t.Fatal("the redelivery went to the same connection")
	}
	// The other instance recognises it: the msgId is in Redis.
	if err := waitFor(ctx, func() bool { return a.loggedDuplicate(msgID) || b.loggedDuplicate(msgID) }); err != nil {
		t.Fatalf("the redelivered command was not recognised as a duplicate: %v", err)
	}
	if n := replies(); n != 2 {
		t.Errorf("%d replies for 2 commands: the redelivered one ran twice", n)
	}

	// Killing one instance loses nothing; the other carries on.
	for range 2 {
		if st, body := a.api("POST", "/v1/messages", `{"family":"private","conversation_id":"`+privCID+`","text":"A again"}`); st != 200 {
			t.Fatalf("send via A: %d %s", st, body)
		}
	}
	a.kill()
	if st, body := b.api("POST", "/v1/recalls", `{"family":"private","conversation_id":"`+privCID+`","last":2}`); st != 200 || !strings.Contains(body, `"summary":"2 recalled"`) {
		t.Errorf("B recalling A's messages after A died: %d %s", st, body)
	}
	if code := b.stop(); code != 0 {
		t.Errorf("B exit code %d", code)
	}
}
