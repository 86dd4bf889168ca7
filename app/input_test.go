package app_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestRepeatedKeyInABodyIsRefused: Go's decoder lets the later of two
// equal keys win (and matches keys without regard to case), so a body
// naming user_id twice used to send to the second. Every such body is
// refused with 400 and a sentence naming the key; nothing is sent or
// written.
func TestRepeatedKeyInABodyIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	const gid = "cidRepeatedKeys"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "")
	for _, c := range []struct{ path, body, key string }{
		{"/v1/messages", `{"family":"oto","user_id":"alice","user_id":"bob","text":"for alice"}`, `"user_id" is given twice`},
		{"/v1/messages", `{"family":"oto","user_id":"alice","USER_ID":"bob","text":"for alice"}`, `"user_id" and "USER_ID"`},
		{"/v1/messages", `{"family":"group","conversation_id":"` + gid + `","text":"one","text":"two"}`, `"text" is given twice`},
		{"/v1/broadcasts", `{"targets":[{"family":"oto","user_id":"alice","user_id":"bob"}],"text":"x"}`, `"user_id" is given twice in targets[0]`},
		{"/v1/recalls", `{"conversation_id":"` + gid + `","last":1,"last":100}`, `"last" is given twice`},
	} {
		r, body := h.do("POST", c.path, testToken, c.body)
		msg := fmt.Sprint(body["error"])
		if r.StatusCode != 400 || !strings.Contains(msg, c.key) {
			t.Errorf("POST %s %s: %d %v; want 400 naming %s", c.path, c.body, r.StatusCode, body, c.key)
		}
	}
	if got := h.srv.BotMessages(); len(got) != 0 {
		t.Errorf("a refused body sent %d messages: %+v", len(got), got)
	}
	if n, _ := h.app.Ledger.Counts(h.ctx()); n.Total() != 0 {
		t.Errorf("a refused body wrote to the ledger: %v", n)
	}
}

// TestClientIsBounded: "client" names the caller in every entry and audit
// record it causes; it is at most 64 characters of printable text,
// wherever it is accepted (bodies and ?client=). Beyond that: 400, nothing
// done.
func TestClientIsBounded(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	send := func(client string) (int, map[string]any) {
		r, b := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"hello","client":%q}`, privCID, client))
		return r.StatusCode, b
	}
	name64 := strings.Repeat("运维", 32)
	if st, b := send(name64); st != 200 || b["actor"] != "api:"+name64 {
		t.Errorf("a 64-character client: %d %v", st, b)
	}
	for _, bad := range []string{strings.Repeat("x", 65), strings.Repeat("A", 60_000), "ops\u202eevil", "ops\u200b", "tab\there", "nl\n"} {
		if st, b := send(bad); st != 400 || !strings.Contains(fmt.Sprint(b["error"]), "client") {
			t.Errorf("client %.20q…: %d %v; want 400", bad, st, b)
		}
	}
	long := strings.Repeat("y", 65)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/recalls", `{"conversation_id":"` + privCID + `","last":1,"client":"` + long + `"}`},
		{"POST", "/v1/broadcasts", `{"user_ids":["u1"],"text":"x","client":"` + long + `"}`},
		{"POST", "/v1/entries/1/resolve", `{"state":"unknown","client":"` + long + `"}`},
		{"POST", "/v1/messages/k/retract", `{"reason":"r","client":"` + long + `"}`},
		{"DELETE", "/v1/broadcasts/b-1?client=" + url.QueryEscape(long), ""},
		{"POST", "/v1/autorecall/resume?client=" + url.QueryEscape(long), ""},
	} {
		if r, b := h.do(c.method, c.path, testToken, c.body); r.StatusCode != 400 {
			t.Errorf("%s %s with a 65-character client: %d %v", c.method, c.path, r.StatusCode, b)
		}
	}
	if got := len(h.srv.BotMessages()); got != 1 {
		t.Errorf("%d messages sent; want only the one with a valid client", got)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 50})
	for _, r := range recs {
		if strings.Contains(r.Actor, long) {
			t.Errorf("an audit record names the refused client: %+v", r)
		}
	}
}

// TestRepliesDropInvisibleMarks: zero-width and direction marks a user
// typed are not echoed back in chat.
func TestRepliesDropInvisibleMarks(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(1) // the bot has sent into the chat: it answers there
	for _, text := range []string{"/recall abc\u202egnp.exe", "/frobnicate\u200b\u2066 now\u2069", "/recall last 5 in cid\u200fX\ufeff"} {
		reply := h.say(admin, text)
		if i := strings.IndexFunc(reply, func(r rune) bool { return unicode.Is(unicode.Cf, r) }); i >= 0 {
			t.Errorf("reply to %+q echoes an invisible mark: %+q", text, reply)
		}
	}
}
