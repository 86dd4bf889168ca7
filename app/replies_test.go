package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestRepliesEscapeAndRedact: what a user types comes back in a reply as
// text, never as a live link; a secret typed into a command is neither
// repeated into the chat nor written to the audit.
func TestRepliesEscapeAndRedact(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(1) // the bot has sent into the chat: it answers there
	reply := h.say(admin, "/[click](http://evil.example/login)")
	if strings.Contains(reply, "](") || strings.Contains(reply, "http://") || !strings.Contains(reply, "click") {
		t.Errorf("link echoed live: %q", reply)
	}
	secret := h.app.Config.DingTalk.ClientSecret
	reply = h.say(admin, "/recall "+secret)
	if strings.Contains(reply, secret) {
		t.Errorf("the client secret came back in the reply: %q", reply)
	}
	reply = h.say(stranger, "/recall "+testToken)
	if !strings.Contains(reply, "only admins") {
		t.Errorf("stranger: %q", reply)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10})
	b, _ := json.Marshal(recs)
	for _, s := range []string{secret, testToken} {
		if strings.Contains(string(b), s) {
			t.Errorf("a secret reached the audit: %s", b)
		}
	}
	for _, m := range h.srv.BotMessages() {
		if strings.Contains(m.Text, secret) || strings.Contains(m.Text, testToken) {
			t.Errorf("a secret reached a chat: %q", m.Text)
		}
	}

	// A token whose "_" and "-" the escaping would turn full-width is
	// redacted before it is escaped, in an echoed command and in excerpts.
	jwt := "eyJhbGciOiJI_zI1NiJ9.eyJzdWIiOiIx-MjM0NTY3ODkwIn0.abc_DEF-ghi_jkl"
	if reply := h.say(admin, "/recall "+jwt); strings.Contains(reply, "eyJ") {
		t.Errorf("a JWT came back escaped but readable: %q", reply)
	}
	text := "see [the fix](http://evil.example/x) and ![img](http://evil.example/i.png) " + jwt
	// (The secrets rule blocks such a send at the API; a rule set to
	// recall after the fact lets it through, as here.)
	if _, err := h.app.Sender.Send(h.ctx(), ledger.Chat{Family: ledger.Private, ConversationID: privCID}, dingtalk.Text(text), recall.SendOptions{NoGuard: true}); err != nil {
		t.Fatal(err)
	}
	check := func(who, reply string) {
		t.Helper()
		for _, bad := range []string{"](", "://", "![", "eyJ"} {
			if strings.Contains(reply, bad) {
				t.Errorf("%s: /sent shows %q live: %q", who, bad, reply)
			}
		}
	}
	reply = h.say(admin, "/sent 1")
	check("admin", reply)
	if !strings.Contains(reply, "the fix") {
		t.Errorf("admin's /sent lost the excerpt: %q", reply)
	}
	if reply := h.say(admin, "/recall last 1"); !strings.Contains(reply, "1 recalled") {
		t.Fatalf("recall: %q", reply)
	}
	reply = h.say(stranger, "/sent 3")
	check("stranger", reply)
	if strings.Contains(reply, "the fix") || !strings.Contains(reply, "content recalled") {
		t.Errorf("a stranger sees what was recalled: %q", reply)
	}
}
