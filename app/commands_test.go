package app_test

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestChatCommands: each chat command a person types, in English and
// Chinese, in a one-to-one chat and in a group, and what the bot answers.
func TestChatCommands(t *testing.T) {
	t.Parallel()
	t.Run("recall last N", testRecallLastN)
	t.Run("Chinese replies", testChineseReplies)
	t.Run("recall matching", testRecallMatching)
	t.Run("bad input gets a help line", testBadInputGetsAHelpLine)
	t.Run("read status in chat over HTTP and from the CLI", testReadStatusInChatHTTPAndCLI)
}

func testRecallLastN(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	es := h.notify(7)
	_ = h.srv.AgeMessage(es[2].ProcessQueryKey, 25*time.Hour)
	reply := h.say(admin, "/recall last 5")
	if !strings.Contains(reply, "4 recalled, 1 too old") {
		t.Errorf("reply:\n%s", reply)
	}
	if h.recalledCount() != 4 {
		t.Errorf("%d messages recalled, want 4", h.recalledCount())
	}
	// Chinese, and case- and space-tolerant.
	reply = h.say(admin, "  /撤回   最近 2 ")
	if !strings.Contains(reply, "(2 messages)") {
		t.Errorf("reply:\n%s", reply)
	}
}

func testBadInputGetsAHelpLine(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(1) // the bot knows the chat from what it sent there
	for text, want := range map[string]string{
		"hello":             "only handle commands",
		"/frobnicate":       "unknown command /frobnicate",
		"/recall last many": `"many" is not a number`,
		"/recall last 500":  "at most 100 messages",
	} {
		if reply := h.say(admin, text); !strings.Contains(reply, want) {
			t.Errorf("%q -> %q, want it to contain %q", text, reply, want)
		}
	}
	before := len(h.botReplies(privCID))
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, MsgType: "picture"}); err != nil {
		t.Fatal(err)
	}
	_ = h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(privCID)) > before })
	if rs := h.botReplies(privCID); !strings.Contains(rs[len(rs)-1].Text, "only read text") {
		t.Errorf("picture -> %q", rs[len(rs)-1].Text)
	}
	// A frame whose data is not JSON is never run; it is ACKed (DingTalk
	// would only deliver it again, unchanged), logged and audited.
	id, err := h.srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: admin, RawData: "{not json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { d, _ := h.srv.Delivery(id); return d.ACKs > 0 }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), "malformed bot callback") || h.srv.StreamStats().NACKed != 0 {
		t.Error("the malformed frame was not logged, or was refused")
	}
	if err := waitFor(h.ctx(), func() bool {
		recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 5})
		return len(recs) > 0 && recs[0].Action == "malformed_frame" && recs[0].Actor == "stream" &&
			recs[0].Scope == "" && recs[0].About != nil && recs[0].About.Frame != "" // a fact, read per locale
	}); err != nil {
		t.Errorf("the malformed frame was not audited: %v", err)
	}
}

// TestEveryCommandForm drives each selection the chat command offers, in a
// one-to-one chat and in a group where the bot is @-mentioned.
func TestEveryCommandForm(t *testing.T) {
	// Not parallel: it reads the Stream connection's state, which every
	// bot in this process shares (the SDK's log lines, the only signal, name
	// no connection), so another test's bot stopping would move it.
	h := start(t, dingtalktest.Options{})
	es := h.notify(4)
	if reply := h.say(admin, "/recall "+es[0].ProcessQueryKey); !strings.Contains(reply, "1 recalled") {
		t.Errorf("by key: %q", reply)
	}
	if reply := h.say(admin, "/recall since 30m"); !strings.Contains(reply, "3 recalled") {
		t.Errorf("since: %q", reply)
	}
	// A broadcast, recalled everywhere by its batch id (cross-chat: confirm).
	batch, _ := h.broadcast(`{"targets":[{"family":"oto","user_id":"u1"},{"family":"oto","user_id":"u2"}],"text":"maintenance"}`)
	code := confirmCode(t, h.say(admin, "/recall batch "+batch))
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "1 recalled · 2 people") {
		t.Errorf("batch: %q", reply)
	}
	// Another user's 1:1 chat with the bot.
	_, _ = h.do("POST", "/v1/messages", testToken, `{"family":"oto","user_id":"u3","text":"for u3"}`)
	code = confirmCode(t, h.say(admin, "/recall last 1 to u3"))
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "1 recalled") {
		t.Errorf("to: %q", reply)
	}
	if reply := h.say(admin, "/audit 3"); !strings.Contains(reply, admin+" recall") {
		t.Errorf("audit: %q", reply)
	}
	if reply := h.say(stranger, "/status"); !strings.Contains(reply, "Stream connection: connected") {
		t.Errorf("status: %q", reply)
	}
	// In a group, when the bot is @-mentioned (the text arrives with a leading space).
	const gid = "cidTeamGroup"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "team")
	for i := range 2 {
		_, _ = h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"group","conversation_id":"%s","text":"group %d"}`, gid, i))
	}
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: gid, ConversationType: "2", SenderStaffID: admin, Text: "/recall last 2"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(gid)) == 1 }); err != nil {
		t.Fatal(err)
	}
	if reply := h.botReplies(gid)[0].Text; !strings.Contains(reply, "2 recalled") {
		t.Errorf("group: %q", reply)
	}
}

// testChineseReplies: the default locale answers in Chinese, usage errors
// included.
func testChineseReplies(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Locale = "zh" })
	h.notify(2)
	for text, want := range map[string]string{
		"/recall last 0":    `「0」不是有效的消息条数（至少 1）`,
		"/撤回 最近 2":          "2 条已撤回",
		"/frobnicate":       "未知命令 /frobnicate",
		"/recall batch b-x": "批次 b-x 下没有发送记录",
	} {
		if reply := h.say(admin, text); !strings.Contains(reply, want) {
			t.Errorf("%q -> %q, want %q", text, reply, want)
		}
	}
	if reply := h.say(stranger, "/recall last 1"); !strings.Contains(reply, "只有管理员可以撤回") {
		t.Errorf("refusal: %q", reply)
	}
}

// testRecallMatching: recall by content, alone or with last/since, in
// chat and over HTTP; the preview lists exactly what matched.
func testRecallMatching(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	for _, text := range []string{"db-7 disk at 91%", "release at 22:00", "DB-7 disk at 97%", "lunch is served", "db-7 back to normal"} {
		if _, err := h.app.Sender.Send(h.ctx(), ledger.Chat{Family: ledger.Private, ConversationID: privCID}, dingtalk.Text(text), recall.SendOptions{Origin: ledger.OriginAPI}); err != nil {
			t.Fatal(err)
		}
	}
	reply := h.say(admin, `/preview matching "db-7 disk"`)
	if !strings.Contains(reply, "2 would be recalled") || !strings.Contains(reply, "91%") || !strings.Contains(reply, "97%") || strings.Contains(reply, "normal") {
		t.Errorf("preview: %q", reply)
	}
	if reply := h.say(admin, "/recall last 1 matching db-7"); !strings.Contains(reply, "1 recalled") || !strings.Contains(reply, "back to normal") {
		t.Errorf("last 1 matching: %q", reply)
	}
	r, body := h.do("POST", "/v1/recalls", testToken, `{"conversation_id":"`+privCID+`","matching":"DISK","client":"ops"}`)
	if r.StatusCode != 200 || body["summary"] != "2 recalled" || !strings.Contains(body["scope"].(string), `matching "DISK"`) {
		t.Errorf("HTTP matching: %d %v", r.StatusCode, body)
	}
	for _, m := range h.srv.BotMessages() {
		if want := strings.Contains(strings.ToLower(m.Text), "db-7"); m.MsgKey == "sampleText" && m.Recalled != want {
			t.Errorf("%q recalled=%v", m.Text, m.Recalled)
		}
	}
}

// testReadStatusInChatHTTPAndCLI: who has read a message, asked in chat
// ("reads"), over HTTP (?read_status=1, "read_status": true) and from the
// CLI (--read-status); a preview that did not ask says what asking costs.
func testReadStatusInChatHTTPAndCLI(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	es := h.notify(2)
	if err := h.srv.MarkRead(es[1].ProcessQueryKey, admin); err != nil {
		t.Fatal(err)
	}
	if reply := h.say(admin, "/preview last 2"); !strings.Contains(reply, "Add **reads**") || !strings.Contains(reply, "2 query calls") {
		t.Errorf("preview without reads: %q", reply)
	}
	reply := h.say(admin, "/preview last 2 reads")
	if !strings.Contains(reply, "1 had read it") || !strings.Contains(reply, "0 had read it") || !strings.Contains(reply, "1 read so far") {
		t.Errorf("preview with reads: %q", reply)
	}
	_, got := h.do("GET", "/v1/messages/"+url.PathEscape(es[1].ProcessQueryKey)+"?read_status=1", testToken, "")
	if rs, _ := got["read_status"].(map[string]any); rs == nil || rs["read"] != 1.0 || rs["send_status"] != "SUCCESS" {
		t.Errorf("GET ?read_status=1: %v", got)
	}
	_, got = h.do("POST", "/v1/recalls", testToken, fmt.Sprintf(`{"keys":[%q],"dry_run":true}`, es[1].ProcessQueryKey))
	if cost, _ := got["read_status_cost"].(map[string]any); cost == nil || cost["calls"] != 1.0 {
		t.Errorf("dry run states the cost: %v", got)
	}
	var out, errOut bytes.Buffer
	if err := h.run([]string{"recall", "--keys", es[1].ProcessQueryKey, "--read-status"}, &out, &errOut); err != nil {
		t.Fatalf("cli: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "1 recalled") || !strings.Contains(out.String(), "read by 1") || !strings.Contains(out.String(), "1 had read it before the recall") {
		t.Errorf("cli --read-status: %q", out.String())
	}
}
