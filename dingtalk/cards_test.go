package dingtalk_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

func cardData(title, text string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"config":   map[string]any{"autoLayout": true},
		"header":   map[string]any{"title": map[string]string{"type": "text", "text": title, "color": "common_red1_color"}},
		"contents": []any{map[string]string{"type": "markdown", "text": text, "id": "m1"}},
	})
	return b
}

// TestCardSendUpdateRecall: a card goes to a group and to a user's 1:1
// chat, is updated in place (the same message, new content), and its key
// is recalled with the group and oto recall APIs like any message.
func TestCardSendUpdateRecall(t *testing.T) {
	srv, c := setup(t, dingtalktest.Options{})
	key, err := c.SendCard(ctx(t), dingtalk.CardChat{ConversationID: "cidg"}, "rb-card-1", cardData("🔥 DiskFull", "**db1** disk 95%"))
	if err != nil || key == "" {
		t.Fatalf("SendCard = %q, %v", key, err)
	}
	m, ok := srv.Card("rb-card-1")
	if !ok || m.Card.Title != "🔥 DiskFull" || !strings.Contains(m.Text, "disk 95%") || m.ProcessQueryKey != key {
		t.Fatalf("the card in the chat = %+v", m)
	}
	sent, _ := c.UpdateCard(ctx(t), "rb-card-1", cardData("✅ DiskFull resolved", "**db1** back to 60%"))
	if sent != key {
		t.Errorf("UpdateCard answered key %q, want the card's %q", sent, key)
	}
	conv, _ := srv.Conversation("cidg")
	if len(conv.Messages) != 1 || conv.Messages[0].Card.Title != "✅ DiskFull resolved" || conv.Messages[0].Updates != 1 {
		t.Fatalf("after the update the chat holds %+v", conv.Messages)
	}
	if r, err := c.RecallGroup(ctx(t), "cidg", []string{key}); err != nil || len(r.Recalled) != 1 {
		t.Fatalf("recall of a card = %+v, %v", r, err)
	}
	if _, err := c.UpdateCard(ctx(t), "rb-card-1", cardData("x", "y")); !dingtalk.CardGone(err) {
		t.Errorf("update of a recalled card: %v, want invalid.bizId", err)
	}

	okey, err := c.SendCard(ctx(t), dingtalk.CardChat{UserID: "u42"}, "rb-card-2", cardData("🔥 oto", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if oc, _ := srv.UserConversation("u42"); len(oc.Messages) != 1 || oc.Messages[0].Card == nil {
		t.Errorf("the user's chat = %+v", oc)
	}
	if r, err := c.RecallOTO(ctx(t), []string{okey}); err != nil || len(r.Recalled) != 1 {
		t.Errorf("oto recall of a card = %+v, %v", r, err)
	}
	// The idempotent id: a second send with it shows nothing new.
	again, err := c.SendCard(ctx(t), dingtalk.CardChat{ConversationID: "cidg"}, "rb-card-1", cardData("again", "again"))
	if conv, _ := srv.Conversation("cidg"); err != nil || again != key || len(conv.Messages) != 1 {
		t.Errorf("resend = %q %v; chat has %d messages", again, err, len(conv.Messages))
	}
}

// TestCardsRefused: an app without the card permission is told so in
// either of the two ways DingTalk does, which CardsRefused recognises.
func TestCardsRefused(t *testing.T) {
	for _, r := range []dingtalktest.CardRefusal{dingtalktest.CardsPermissionDenied, dingtalktest.CardsTemplateMissing} {
		srv, c := setup(t, dingtalktest.Options{CardRefusal: r})
		_, err := c.SendCard(ctx(t), dingtalk.CardChat{ConversationID: "cidg"}, "rb-x", cardData("t", "x"))
		if !dingtalk.CardsRefused(err) {
			t.Errorf("%s: %v, want a refusal", r, err)
		}
		if conv, _ := srv.Conversation("cidg"); len(conv.Messages) != 0 {
			t.Errorf("%s: a refused card reached the chat", r)
		}
		if d := dingtalk.Describe(err, "en"); !strings.Contains(d, "permission") && !strings.Contains(d, "template") {
			t.Errorf("%s described as %q", r, d)
		}
	}
	if _, c := setup(t, dingtalktest.Options{}); true {
		if _, err := c.SendCard(ctx(t), dingtalk.CardChat{ConversationID: "cidg", UserID: "u1"}, "rb-y", cardData("t", "x")); err == nil {
			t.Error("a card to a group and a user at once was sent")
		}
		if _, err := c.SendCard(ctx(t), dingtalk.CardChat{ConversationID: "cidg"}, strings.Repeat("x", 101), cardData("t", "x")); err == nil {
			t.Error("a cardBizId of 101 characters was sent")
		}
	}
}
