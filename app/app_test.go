package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

func TestRecallLastN(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	es := h.notify(7)
	_ = h.srv.AgeMessage(es[2].ProcessQueryKey, 25*time.Hour)
	reply := h.say(admin, "/recall last 5")
	if !strings.Contains(reply, "5 requested: 4 recalled, 1 too old") {
		t.Errorf("reply:\n%s", reply)
	}
	if h.recalledCount() != 4 {
		t.Errorf("%d messages recalled, want 4", h.recalledCount())
	}
	// Chinese, and case- and space-tolerant.
	reply = h.say(admin, "  /撤回   最近 2 ")
	if !strings.Contains(reply, "2 requested") {
		t.Errorf("reply:\n%s", reply)
	}
}

func TestNonAdminIsRefusedAndAudited(t *testing.T) {
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Commands.Burst = 10 }) // types faster than the default budget

	h.notify(2)
	reply := h.say(stranger, "/recall last 2")
	if !strings.Contains(reply, "only admins may recall") || h.recalledCount() != 0 {
		t.Errorf("reply %q, %d recalled", reply, h.recalledCount())
	}
	if reply := h.say(stranger, "/audit"); !strings.Contains(reply, "only admins") {
		t.Errorf("audit for a stranger: %q", reply)
	}
	// Refusals go to the access trail; the recall trail keeps the recalls.
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10, Trail: ledger.TrailAccess})
	if len(recs) != 2 || recs[0].Allowed || recs[0].Actor != stranger || recs[0].Action != "denied" {
		t.Errorf("access trail = %+v", recs)
	}
	if recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10}); len(recs) != 0 {
		t.Errorf("refusals in the recall trail: %+v", recs)
	}
	// Everyone may ask for help and see what the bot sent.
	if reply := h.say(stranger, "/help"); strings.Contains(reply, "/recall last 5") || !strings.Contains(reply, "/sent") {
		t.Errorf("help for a stranger: %q", reply)
	}
	if reply := h.say(stranger, "/sent 3"); !strings.Contains(reply, "notice 2") {
		t.Errorf("sent: %q", reply)
	}
}

func TestBadInputGetsAHelpLine(t *testing.T) {
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
		return len(recs) > 0 && recs[0].Action == "malformed_frame" && recs[0].Actor == "stream"
	}); err != nil {
		t.Errorf("the malformed frame was not audited: %v", err)
	}
}

func TestConfirmFlow(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	h.notify(12)
	reply := h.say(admin, "/recall last 12")
	code := confirmCode(t, reply)
	if h.recalledCount() != 0 || !strings.Contains(reply, "12 would be recalled") {
		t.Fatalf("preview recalled something or says %q", reply)
	}
	h.notify(1) // a newer message: the confirmation must recall exactly the previewed set
	if reply := h.say(admin2, "/confirm "+code); !strings.Contains(reply, "is not yours") {
		t.Errorf("another admin's confirm: %q", reply)
	}
	if reply := h.say(admin, "/confirm "+strings.ToLower(code)); !strings.Contains(reply, "12 requested: 12 recalled") {
		t.Errorf("confirm: %q", reply)
	}
	if h.recalledCount() != 12 {
		t.Errorf("%d recalled, want exactly the 12 previewed", h.recalledCount())
	}
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "unknown or has expired") {
		t.Errorf("reuse: %q", reply)
	}
	// A code expires.
	h.notify(11)
	code = confirmCode(t, h.say(admin, "/recall last 11"))
	h.advance(3 * time.Minute)
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "unknown or has expired") {
		t.Errorf("expired: %q", reply)
	}
	// A recall that reaches another chat always asks, whatever the count
	// and whatever the words: "in" another chat, or a key of another
	// chat's message. The same chat named with "in" does not.
	const gid = "cidOtherGroup"
	_ = h.srv.AddConversation(gid, dingtalktest.KindGroup, "another group")
	ge, err := h.app.Sender.Send(h.ctx(), ledger.Chat{Family: ledger.Group, ConversationID: gid}, dingtalk.Text("group notice"), recall.SendOptions{Origin: ledger.OriginAuto})
	if err != nil {
		t.Fatal(err)
	}
	if reply := h.say(admin, "/recall last 1 in "+gid); confirmCode(t, reply) == "" {
		t.Errorf("in another chat: %q", reply)
	}
	if reply := h.say(admin, "/recall "+ge.ProcessQueryKey); confirmCode(t, reply) == "" {
		t.Errorf("a key of another chat's message ran without /confirm: %q", reply)
	}
	if m, _ := h.srv.Message(ge.ProcessQueryKey); m.Recalled {
		t.Error("the other chat's message was recalled before /confirm")
	}
	if reply := h.say(admin, "/recall last 1 in "+privCID); !strings.Contains(reply, "1 requested: 1 recalled") {
		t.Errorf("in this chat: %q", reply)
	}
	// --dry-run never recalls.
	if reply := h.say(admin, "/recall last 2 --dry-run"); !strings.Contains(reply, "Preview") || strings.Contains(reply, "/confirm") {
		t.Errorf("dry run: %q", reply)
	}
}

func TestRedeliveredCommandRunsOnce(t *testing.T) {
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

func TestCommandsWorkAfterDisconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the SDK's reconnect backoff")
	}
	h := start(t, dingtalktest.Options{DisconnectGrace: 500 * time.Millisecond})
	old := h.srv.Connections()[0].ID
	_ = h.srv.Disconnect(old)
	if err := h.srv.WaitUntil(h.ctx(), func() bool { c := h.srv.Connections(); return len(c) == 1 && c[0].ID != old }); err != nil {
		t.Fatal(err)
	}
	h.notify(1)
	if reply := h.say(admin, "/recall last 1"); !strings.Contains(reply, "1 recalled") {
		t.Errorf("after reconnect: %q", reply)
	}
	if !h.app.Listener.Connected() {
		t.Error("readiness says disconnected")
	}
}

// TestReadinessFollowsTheConnection also guards the SDK log formats the
// Listener relies on (see handlers/sdklog.go).
func TestReadinessFollowsTheConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the SDK's reconnect backoff")
	}
	h := start(t, dingtalktest.Options{})
	if !h.app.Listener.Connected() || h.get("/readyz", "").StatusCode != 200 {
		t.Fatal("not ready while connected")
	}
	_ = h.srv.Kill(h.srv.Connections()[0].ID)
	if err := waitFor(h.ctx(), func() bool { return !h.app.Listener.Connected() }); err != nil {
		t.Fatalf("readiness did not notice the drop: %v", err)
	}
	if r := h.get("/readyz", ""); r.StatusCode != 503 {
		t.Errorf("/readyz = %d while disconnected", r.StatusCode)
	}
	if err := waitFor(h.ctx(), h.app.Listener.Connected); err != nil {
		t.Fatalf("readiness did not notice the reconnect: %v", err)
	}
}

func TestShutdownFinishesARunningRecall(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	h.notify(3)
	h.srv.Delay(dingtalktest.PathPrivateRecall, 300*time.Millisecond, 1)
	_, _ = h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 3"})
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.InFlight() > 0 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.Close(ctx); err != nil { // what SIGTERM does
		t.Fatalf("Close: %v", err)
	}
	if h.recalledCount() != 3 || len(h.botReplies(privCID)) != 1 {
		t.Errorf("after shutdown: %d recalled, %d replies", h.recalledCount(), len(h.botReplies(privCID)))
	}
}

// TestShutdownFinishesAnAsyncRecall: an asynchronous recall running when
// SIGTERM comes finishes within the grace; cut short, it would leave
// messages recalled in the chat but recorded failed.
func TestShutdownFinishesAnAsyncRecall(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	es := h.notify(3)
	h.srv.Delay(dingtalktest.PathPrivateRecall, 300*time.Millisecond, 1)
	var keys []string
	for _, e := range es {
		keys = append(keys, e.ProcessQueryKey)
	}
	body, _ := json.Marshal(map[string]any{"keys": keys, "async": true})
	if r, b := h.do("POST", "/v1/recalls", testToken, string(body)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("async recall: %d %v", r.StatusCode, b)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.InFlight() > 0 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	led, err := ledger.Open(h.app.Config.Ledger.Path, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	for _, e := range es {
		got, _ := led.Get(context.Background(), e.ID)
		if m, _ := h.srv.Message(e.ProcessQueryKey); !m.Recalled || got.State != ledger.Recalled {
			t.Errorf("entry %d: chat recalled %v, ledger %s (%s)", e.ID, m.Recalled, got.State, got.Reason)
		}
	}
}

func TestHTTPAPI(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	// Authentication: every /v1 route, audited.
	for _, tok := range []string{"", "wrong-token"} {
		if r, body := h.do("POST", "/v1/messages", tok, `{}`); r.StatusCode != 401 || body["error"] == nil {
			t.Errorf("token %q: %d %v", tok, r.StatusCode, body)
		}
	}
	// Refusals go to the access trail, the first per source and minute in
	// full; the recall trail stays clean.
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 5, Trail: ledger.TrailAccess})
	if len(recs) != 1 || recs[0].Action != "http.unauthorized" || recs[0].Scope != "POST /v1/messages" {
		t.Errorf("access audit %+v", recs)
	}
	if recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 5}); len(recs) != 0 {
		t.Errorf("recall audit %+v", recs)
	}
	// Send.
	r, e := h.do("POST", "/v1/messages", testToken, `{"family":"private","conversation_id":"`+privCID+`","text":"from the API","client":"ci"}`)
	key, _ := e["process_query_key"].(string)
	if r.StatusCode != 200 || key == "" || e["state"] != "sent" || e["actor"] != "api:ci" {
		t.Fatalf("send: %d %v", r.StatusCode, e)
	}
	if r, e := h.do("GET", "/v1/messages/"+url.PathEscape(key), testToken, ""); r.StatusCode != 200 || e["excerpt"] != "from the API" {
		t.Errorf("get: %d %v", r.StatusCode, e)
	}
	if r, e := h.do("GET", "/v1/conversations/"+privCID+"/messages", testToken, ""); r.StatusCode != 200 || len(e["messages"].([]any)) != 1 {
		t.Errorf("conversation: %d %v", r.StatusCode, e)
	}
	// Recall: dry run, then for real.
	if r, rc := h.do("POST", "/v1/recalls", testToken, `{"keys":["`+key+`"],"dry_run":true}`); r.StatusCode != 200 || rc["summary"] != "1 requested: 1 would be recalled" {
		t.Errorf("dry run: %d %v", r.StatusCode, rc)
	}
	if r, rc := h.do("POST", "/v1/recalls", testToken, `{"conversation_id":"`+privCID+`","last":5}`); r.StatusCode != 200 || rc["summary"] != "1 requested: 1 recalled" {
		t.Errorf("recall: %d %v", r.StatusCode, rc)
	}
	// Broadcast (one packed call for both users) and batch recall.
	batch, b := h.broadcast(`{"targets":[{"family":"oto","user_id":"a"},{"family":"oto","user_id":"b"}],"title":"Maintenance","text":"**22:00**"}`)
	if b["sent"] != 2.0 || b["send_calls"] != 1.0 || b["pending"] != 0.0 {
		t.Fatalf("broadcast: %v", b)
	}
	if r, rc := h.do("POST", "/v1/recalls", testToken, `{"batch_id":"`+batch+`"}`); r.StatusCode != 200 || rc["summary"] != "1 requested: 1 recalled · 2 people" {
		t.Errorf("batch recall: %d %v", r.StatusCode, rc)
	}
	// Bad input: clear errors, nothing sent.
	calls := len(h.srv.Calls())
	for body, want := range map[string]string{
		`{"family":"private","conversation_id":"x"`:                               "JSON object",
		`{"family":"fax","conversation_id":"x","text":"t"}`:                       "not private, oto or group",
		`{"family":"oto","text":"t"}`:                                             "user id",
		`{"family":"group","conversation_id":"c","text":"t","colour":"red"}`:      "unknown field",
		`{"family":"group","conversation_id":"c"}`:                                `"text"`,
		`{"family":"group","conversation_id":"c","text":"t","expires_in":"25h"}`:  "recall window",
		`{"family":"group","conversation_id":"c","text":"t","expires_in":"soon"}`: "positive duration",
	} {
		if r, e := h.do("POST", "/v1/messages", testToken, body); r.StatusCode != 400 || !strings.Contains(fmt.Sprint(e["error"]), want) {
			t.Errorf("%s -> %d %v, want 400 mentioning %q", body, r.StatusCode, e, want)
		}
	}
	if n := len(h.srv.Calls()) - calls; n != 0 {
		t.Errorf("bad input made %d DingTalk calls", n)
	}
	if r, e := h.do("POST", "/v1/recalls", testToken, `{}`); r.StatusCode != 400 {
		t.Errorf("empty recall: %d %v", r.StatusCode, e)
	}
	// DingTalk refusing is a 502 with its code and a sentence.
	if r, e := h.do("POST", "/v1/messages", testToken, `{"family":"group","conversation_id":"cidUnknown","text":"t"}`); r.StatusCode != 502 ||
		!strings.Contains(fmt.Sprint(e["error"]), "invalid.openConversationId") {
		t.Errorf("refused: %d %v", r.StatusCode, e)
	}
	// Health and metrics need no token.
	if r := h.get("/healthz", ""); r.StatusCode != 200 {
		t.Errorf("healthz %d", r.StatusCode)
	}
	_, m := h.do("GET", "/metrics", "", "")
	text := fmt.Sprint(m["raw"])
	for _, name := range []string{"recallbot_messages_sent_total", "recallbot_recall_outcomes_total", "recallbot_dingtalk_api_calls_total",
		"recallbot_stream_connected 1", `recallbot_ledger_entries{state="recalled"} 2`, "recallbot_http_unauthorized_total 2"} {
		if !strings.Contains(text, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestAutoRecallOverHTTP(t *testing.T) {
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.AutoRecall.SelfDestructEvery = 10 * time.Millisecond })
	send := func(body string) (int, map[string]any) {
		r, e := h.do("POST", "/v1/messages", testToken, body)
		return r.StatusCode, e
	}
	// A leaked secret is refused before it is sent.
	if st, e := send(`{"family":"private","conversation_id":"` + privCID + `","text":"AWS key AKIAIOSFODNN7EXAMPLE"}`); st != 422 ||
		!strings.Contains(fmt.Sprint(e["error"]), "secrets") {
		t.Errorf("secret: %d %v", st, e)
	}
	if n := len(h.srv.CallsTo(dingtalktest.PathPrivateSend)); n != 0 {
		t.Errorf("%d sends reached DingTalk", n)
	}
	// Supersede.
	_, orig := send(`{"family":"private","conversation_id":"` + privCID + `","text":"release at 20:00"}`)
	key := orig["process_query_key"].(string)
	r, rep := h.do("POST", "/v1/messages/"+url.PathEscape(key)+"/replace", testToken, `{"text":"release at 22:00","client":"ci"}`)
	if r.StatusCode != 200 || rep["original_recalled"] != true {
		t.Fatalf("replace: %d %v", r.StatusCode, rep)
	}
	if m, _ := h.srv.Message(key); !m.Recalled {
		t.Error("the original is still shown")
	}
	// Retract with a reason.
	_, e := send(`{"family":"private","conversation_id":"` + privCID + `","text":"Q3 numbers: 1.2M"}`)
	k2 := e["process_query_key"].(string)
	if r, rc := h.do("POST", "/v1/messages/"+url.PathEscape(k2)+"/retract", testToken, `{}`); r.StatusCode != 400 {
		t.Errorf("retract without a reason: %d %v", r.StatusCode, rc)
	}
	if r, rc := h.do("POST", "/v1/messages/"+url.PathEscape(k2)+"/retract", testToken, `{"reason":"wrong quarter"}`); r.StatusCode != 200 || rc["summary"] != "1 requested: 1 recalled" {
		t.Errorf("retract: %d %v", r.StatusCode, rc)
	}
	if r, _ := h.do("POST", "/v1/messages/nope/retract", testToken, `{"reason":"x"}`); r.StatusCode != 404 {
		t.Errorf("retract of an unknown key: %d", r.StatusCode)
	}
	// Self-destruct: recalled on time by the running bot.
	_, e = send(`{"family":"private","conversation_id":"` + privCID + `","text":"one-time code 4821","expires_in":"30s"}`)
	k3 := e["process_query_key"].(string)
	if m, _ := h.srv.Message(k3); m.Recalled {
		t.Fatal("recalled before its time")
	}
	h.advance(31 * time.Second)
	if err := h.srv.WaitUntil(h.ctx(), func() bool { m, _ := h.srv.Message(k3); return m.Recalled }); err != nil {
		t.Fatalf("self-destruct did not fire: %v", err)
	}
	if r, st := h.do("GET", "/v1/autorecall", testToken, ""); r.StatusCode != 200 || st["paused"] != false {
		t.Errorf("breaker state: %d %v", r.StatusCode, st)
	}
}

func TestInvalidRuleStopsStartup(t *testing.T) {
	cfg := config.Default()
	cfg.DingTalk = config.DingTalk{ClientID: "a", ClientSecret: "b", RobotCode: "c", APIBase: "http://127.0.0.1:1", QPS: 20, Timeout: time.Second, KeepAlive: time.Minute}
	cfg.Admins = []string{admin}
	cfg.HTTP.Listen = ""
	cfg.AutoRecall.Rules = []autorecall.Rule{{Name: "hosts", Pattern: `db-(\d+`, Action: autorecall.Block, Mode: autorecall.Enforce}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "autorecall.rules[0] (hosts): invalid pattern at position 3") {
		t.Errorf("Validate = %v", err)
	}
}

// TestEveryCommandForm drives each selection the chat command offers, in a
// one-to-one chat and in a group where the bot is @-mentioned.
func TestEveryCommandForm(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	es := h.notify(4)
	if reply := h.say(admin, "/recall "+es[0].ProcessQueryKey); !strings.Contains(reply, "1 requested: 1 recalled") {
		t.Errorf("by key: %q", reply)
	}
	if reply := h.say(admin, "/recall since 30m"); !strings.Contains(reply, "3 requested: 3 recalled") {
		t.Errorf("since: %q", reply)
	}
	// A broadcast, recalled everywhere by its batch id (cross-chat: confirm).
	batch, _ := h.broadcast(`{"targets":[{"family":"oto","user_id":"u1"},{"family":"oto","user_id":"u2"}],"text":"maintenance"}`)
	code := confirmCode(t, h.say(admin, "/recall batch "+batch))
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "1 requested: 1 recalled · 2 people") {
		t.Errorf("batch: %q", reply)
	}
	// Another user's 1:1 chat with the bot.
	_, _ = h.do("POST", "/v1/messages", testToken, `{"family":"oto","user_id":"u3","text":"for u3"}`)
	code = confirmCode(t, h.say(admin, "/recall last 1 to u3"))
	if reply := h.say(admin, "/confirm "+code); !strings.Contains(reply, "1 requested: 1 recalled") {
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
	if reply := h.botReplies(gid)[0].Text; !strings.Contains(reply, "2 requested: 2 recalled") {
		t.Errorf("group: %q", reply)
	}
}

// TestChineseReplies: the default locale answers in Chinese, usage errors
// included.
func TestChineseReplies(t *testing.T) {
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Locale = "zh" })
	h.notify(2)
	for text, want := range map[string]string{
		"/recall last 0":    `"0" 不是有效的消息条数（至少 1）`,
		"/撤回 最近 2":          "2 条：2 条已撤回",
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

// TestRedeliveryAfterARestartRunsOnce: the command's msgId is on the ledger
// file, so a redelivery that reaches the bot after it restarted is ignored.
func TestRedeliveryAfterARestartRunsOnce(t *testing.T) {
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

// TestRecallMatching: recall by content, alone or with last/since, in
// chat and over HTTP; the preview lists exactly what matched.
func TestRecallMatching(t *testing.T) {
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
	if reply := h.say(admin, "/recall last 1 matching db-7"); !strings.Contains(reply, "1 requested: 1 recalled") || !strings.Contains(reply, "back to normal") {
		t.Errorf("last 1 matching: %q", reply)
	}
	r, body := h.do("POST", "/v1/recalls", testToken, `{"conversation_id":"`+privCID+`","matching":"DISK","client":"ops"}`)
	if r.StatusCode != 200 || body["summary"] != "2 requested: 2 recalled" || !strings.Contains(body["scope"].(string), `matching "DISK"`) {
		t.Errorf("HTTP matching: %d %v", r.StatusCode, body)
	}
	for _, m := range h.srv.BotMessages() {
		if want := strings.Contains(strings.ToLower(m.Text), "db-7"); m.MsgKey == "sampleText" && m.Recalled != want {
			t.Errorf("%q recalled=%v", m.Text, m.Recalled)
		}
	}
}

// TestRecallRuleRunsOffTheRequestPath: a message a recall rule catches is
// answered at once; its recall and the admins' report follow from the due
// list, durably, while DingTalk takes its time.
func TestRecallRuleRunsOffTheRequestPath(t *testing.T) {
	h := start(t, dingtalktest.Options{}, func(c *config.Config) {
		c.AutoRecall.SelfDestructEvery = 10 * time.Millisecond
		c.AutoRecall.Rules = []autorecall.Rule{{Name: "templates", Action: autorecall.Recall, Mode: autorecall.Enforce}}
	})
	h.srv.Delay(dingtalktest.PathPrivateRecall, time.Second, 1)
	r, e := h.do("POST", "/v1/messages", testToken, `{"family":"private","conversation_id":"`+privCID+`","text":"on call: {{ .Name }}"}`)
	key, _ := e["process_query_key"].(string)
	if r.StatusCode != 200 || key == "" {
		t.Fatalf("send: %d %v", r.StatusCode, e)
	}
	if m, _ := h.srv.Message(key); m.Recalled {
		t.Error("the send waited for its recall")
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { m, _ := h.srv.Message(key); return m.Recalled }); err != nil {
		t.Fatalf("never recalled: %v", err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool {
		c, _ := h.srv.UserConversation(admin)
		return len(c.Messages) == 1 && strings.Contains(c.Messages[0].Text, "rule templates")
	}); err != nil {
		t.Errorf("the admins were not told: %v", err)
	}
	// The report is the bot talking to its admin: "last N" in that chat
	// never picks it.
	es, err := h.app.Ledger.List(h.ctx(), ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: admin}, Limit: 5, SkipOrigin: ledger.OriginCommand})
	if err != nil || len(es) != 0 {
		t.Errorf("the report is selectable by last N: %+v, %v", es, err)
	}
}

// TestLargeBatchRecallReportsProgress: a broadcast to 250 users goes out
// in 13 calls of up to 20; recalling its batch with "async" answers 202
// at once with a Location, GET reports progress, and the finished record
// carries the receipt: 13 messages, 250 people, in one recall call per 20
// keys.
func TestLargeBatchRecallReportsProgress(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	users := make([]string, 250)
	for i := range users {
		users[i] = fmt.Sprintf("user%03d", i)
	}
	ids, _ := json.Marshal(users)
	batch, st := h.broadcast(`{"user_ids":` + string(ids) + `,"text":"all hands at 3"}`)
	if st["sent"] != 250.0 || st["send_calls"] != 13.0 {
		t.Fatalf("broadcast: %v", st)
	}
	r, job := h.do("POST", "/v1/recalls", testToken, fmt.Sprintf(`{"batch_id":%q,"async":true,"client":"hr"}`, batch))
	id, _ := job["recall_id"].(string)
	if r.StatusCode != http.StatusAccepted || id == "" || r.Header.Get("Location") != "/v1/recalls/"+id || job["requested"] != 13.0 {
		t.Fatalf("async recall: %d %v", r.StatusCode, job)
	}
	if err := waitFor(h.ctx(), func() bool {
		_, job = h.do("GET", "/v1/recalls/"+id, testToken, "")
		return job["state"] != "running"
	}); err != nil {
		t.Fatalf("never finished: %v", job)
	}
	rec, _ := job["receipt"].(map[string]any)
	if job["state"] != "done" || rec == nil || rec["summary"] != "13 requested: 13 recalled · 250 people" || job["recall_calls"] != 1.0 {
		t.Errorf("finished record: %v", job)
	}
	if n := len(h.srv.CallsTo(dingtalktest.PathOTORecall)); n != 1 {
		t.Errorf("%d recall calls for 13 keys", n)
	}
	if r, _ := h.do("GET", "/v1/recalls/r-nope", testToken, ""); r.StatusCode != 404 {
		t.Errorf("unknown recall id: %d", r.StatusCode)
	}
}

// TestReadStatusInChatHTTPAndCLI: who has read a message, asked in chat
// ("reads"), over HTTP (?read_status=1, "read_status": true) and from the
// CLI (--read-status); a preview that did not ask says what asking costs.
func TestReadStatusInChatHTTPAndCLI(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	es := h.notify(2)
	if err := h.srv.MarkRead(es[1].ProcessQueryKey, admin); err != nil {
		t.Fatal(err)
	}
	if reply := h.say(admin, "/preview last 2"); !strings.Contains(reply, "Add `reads`") || !strings.Contains(reply, "2 query calls") {
		t.Errorf("preview without reads: %q", reply)
	}
	reply := h.say(admin, "/preview last 2 reads")
	if !strings.Contains(reply, "1 had read it") || !strings.Contains(reply, "0 had read it") || !strings.Contains(reply, "1 reads so far") {
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
	t.Setenv("RECALLBOT_HTTP_TOKEN", testToken)
	t.Setenv("RECALLBOT_API", "http://"+h.app.HTTPAddr())
	var out, errOut bytes.Buffer
	if err := run(h.ctx(), []string{"recall", "--keys", es[1].ProcessQueryKey, "--read-status"}, &out, &errOut); err != nil {
		t.Fatalf("cli: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "1 recalled") || !strings.Contains(out.String(), "read by 1") || !strings.Contains(out.String(), "1 reads before the recall") {
		t.Errorf("cli --read-status: %q", out.String())
	}
}
