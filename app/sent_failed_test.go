package app_test

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestSentListsOnlyWhatWentOut: /sent, "the bot's last N messages in this
// chat", lists what the bot sent (or may have sent), not a send that is
// known never to have reached the chat.
func TestSentListsOnlyWhatWentOut(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(1) // "notice 1" went out
	h.srv.Fail(dingtalktest.PathPrivateSend, dingtalktest.FaultServerError, 1)
	chat := ledger.Chat{Family: ledger.Private, ConversationID: privCID}
	e, err := h.app.Sender.Send(h.ctx(), chat, dingtalk.Text("hang test"), recall.SendOptions{Origin: ledger.OriginAuto})
	if e.ID == 0 {
		t.Fatalf("the send in doubt left no entry: %v", err)
	}
	if _, err := h.app.Sender.Resolve(h.ctx(), e.ID, recall.Resolution{To: ledger.SendFailed, Actor: "api:ops", Note: "not in the chat"}); err != nil {
		t.Fatal(err)
	}
	reply := h.say(admin, "/sent 5")
	if !strings.Contains(reply, "notice 1") || strings.Contains(reply, "hang test") || strings.Contains(reply, "send failed") {
		t.Errorf("/sent lists a send that never went out, or not the one that did: %q", reply)
	}
	if !strings.Contains(reply, "last 1 message in this chat") {
		t.Errorf("/sent counts what it lists: %q", reply)
	}
}
