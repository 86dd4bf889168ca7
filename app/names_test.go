package app_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestChatsByNameAndAuditInWords: a chat is named the way its people know
// it, never by the ledger's key: the group by the title DingTalk sends
// with its messages, "this group" in a reply there; the audit trail is put
// in words when read (actions, scopes, reasons), in chat and over the API.
func TestChatsByNameAndAuditInWords(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	const cid = "cidOpsGroup=="
	if err := h.srv.AddConversation(cid, dingtalktest.KindGroup, "运维值班群"); err != nil {
		t.Fatal(err)
	}
	if r, _ := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"group","conversation_id":%q,"text":"db-7 disk at 97%%"}`, cid)); r.StatusCode != 200 {
		t.Fatalf("send: %d", r.StatusCode)
	}
	if reply := h.sayIn(cid, "intern001", "/recall last 1"); !strings.Contains(reply, "only admins") {
		t.Fatalf("the refusal: %q", reply)
	}
	// Lists of messages name their chat as the bot knows it, for a CLI
	// that has no titles of its own (recallbot entries).
	_, conv := h.do("GET", "/v1/conversations/"+url.PathEscape(cid)+"/messages?family=group", testToken, "")
	ms, _ := conv["messages"].([]any)
	for _, m := range ms {
		if m.(map[string]any)["chat_name"] != "the group 运维值班群" {
			t.Errorf("a message of the chat: %v, want it named the group 运维值班群", m)
		}
	}
	if len(ms) == 0 {
		t.Errorf("the chat's messages: %v", conv)
	}
	// The sender's nick names the bot's own chat with them too, which no
	// callback comes from when the bot writes first (a broadcast).
	oto := ledger.Chat{Family: ledger.OTO, UserID: "intern001"}
	if infos, err := h.app.Ledger.ChatInfos(h.ctx(), []ledger.Chat{oto}); err != nil || infos[oto.Key()].With != "Nick intern001" {
		t.Errorf("the bot's chat with intern001: %+v, %v; want it named after the nick a command of theirs carried", infos, err)
	}
	if reply := h.sayIn(cid, admin, "/preview last 1"); !strings.Contains(reply, "1 API call") || strings.Contains(reply, "call(s)") {
		t.Errorf("the preview: %q", reply)
	}
	reply := h.sayIn(cid, admin, "/audit")
	if !strings.Contains(reply, "preview · the last 1 in this group") || strings.Contains(reply, "group:") || strings.Contains(reply, "dry_run") {
		t.Errorf("/audit in the group: %q", reply)
	}
	_, a := h.do("GET", "/v1/audit", testToken, "")
	recs, _ := a["records"].([]any)
	if len(recs) == 0 || recs[0].(map[string]any)["scope"] != "the last 1 in the group 运维值班群" {
		t.Errorf("GET /v1/audit: %v", a)
	}
	_, a = h.do("GET", "/v1/audit?trail=access", testToken, "")
	recs, _ = a["records"].([]any)
	found := false
	for _, r := range recs {
		if r := r.(map[string]any); r["action"] == "denied" {
			found = r["note"] == "not an admin; in the group 运维值班群" && r["why"] == "not_admin"
		}
	}
	if !found {
		t.Errorf("the refusal in the access trail: %v", a)
	}
	// Read before the recall: the receipt says what a recall cannot undo.
	es := h.notify(1)
	if err := h.srv.MarkRead(es[0].ProcessQueryKey, "intern001"); err != nil {
		t.Fatal(err)
	}
	if reply := h.say(admin, "/recall last 1 reads"); !strings.Contains(reply, "1 had read it before the recall") || !strings.Contains(reply, "cannot undo what someone already read") {
		t.Errorf("a recall of a read message: %q", reply)
	}
	for _, c := range []string{cid, privCID} {
		for _, m := range h.botReplies(c) {
			for _, l := range strings.Split(m.Text, "\n") {
				if strings.TrimRight(l, " ") != l {
					t.Errorf("a reply's line ends with a space: %q", l)
				}
			}
		}
	}
}

// TestOwnMarkdownIsPlainInReplies: the bot's own messages are markdown;
// when a reply lists them (/sent, a preview, a receipt) they read as plain
// text, not with their marks turned into full-width stars, which the
// escaping of what users type would make of them.
func TestOwnMarkdownIsPlainInReplies(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	body := fmt.Sprintf(`{"family":"private","conversation_id":%q,"title":"Release","text":"**v2.5** at 20:00","client":"ci"}`, privCID)
	if r, b := h.do("POST", "/v1/messages", testToken, body); r.StatusCode != 200 {
		t.Fatalf("send: %d %v", r.StatusCode, b)
	}
	for _, cmd := range []string{"/sent 1", "/preview last 2"} {
		if reply := h.say(admin, cmd); !strings.Contains(reply, "v2.5 at 20:00") || strings.Contains(reply, "＊") {
			t.Errorf("%s: %q", cmd, reply)
		}
	}
}
