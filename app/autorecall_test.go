package app_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestAutoRecall: the bot's recalls of its own mistakes, driven over HTTP:
// blocked secrets, supersede, retract, self-destructs and recall rules.
func TestAutoRecall(t *testing.T) {
	t.Parallel()
	t.Run("over HTTP", testAutoRecallOverHTTP)
	t.Run("a rule catching a sent message recalls it off the request path", testRecallRuleRunsOffTheRequestPath)
	t.Run("a self-destruct that fails for good is reported once", testSelfDestructThatFailsForGoodIsReportedOnce)
}

func testAutoRecallOverHTTP(t *testing.T) {
	t.Parallel()
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
	if r, rc := h.do("POST", "/v1/messages/"+url.PathEscape(k2)+"/retract", testToken, `{"reason":"wrong quarter"}`); r.StatusCode != 200 || rc["summary"] != "1 recalled" {
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

// testRecallRuleRunsOffTheRequestPath: a message a recall rule catches is
// answered at once; its recall and the admins' report follow from the due
// list, durably, while DingTalk takes its time.
func testRecallRuleRunsOffTheRequestPath(t *testing.T) {
	t.Parallel()
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
		c, _ := h.srv.UserConversation(admin)
		t.Errorf("the admins were not told: %v; their chat shows %+v", err, c.Messages)
	}
	// The report is the bot talking to its admin: "last N" in that chat
	// never picks it.
	es, err := h.app.Ledger.List(h.ctx(), ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: admin}, Limit: 5, SkipOrigin: ledger.OriginCommand})
	if err != nil || len(es) != 0 {
		t.Errorf("the report is selectable by last N: %+v, %v", es, err)
	}
}

// testSelfDestructThatFailsForGoodIsReportedOnce: a self-destruct DingTalk
// refuses for good is reported to the admins once and leaves the due list,
// instead of being tried, and reported, every second until the window
// closes; an expiry as long as the recall window is refused up front. (The
// backoff of failures that may pass is TestSelfDestructBacksOff in
// autorecall.)
func testSelfDestructThatFailsForGoodIsReportedOnce(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.AutoRecall.SelfDestructEvery = time.Hour })
	r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"refused later","expires_in":"30s"}`, privCID))
	if r.StatusCode != 200 {
		t.Fatalf("send: %d %v", r.StatusCode, body)
	}
	key := body["process_query_key"].(string)
	h.srv.FailKey(key, "NOT_ALLOWED", 100) // refused for good (the query says it is still shown)
	adminReports := func() int {
		c, _ := h.srv.UserConversation(admin)
		n := 0
		for _, m := range c.Messages {
			if strings.Contains(m.Text, "Self-destruct did not complete") {
				n++
			}
		}
		return n
	}
	h.advance(31 * time.Second)
	for range 4 {
		h.app.AutoRecall.RecallDue(h.ctx())
	}
	if n := len(h.srv.CallsTo(dingtalktest.PathPrivateRecall)); n != 1 {
		t.Errorf("a refused self-destruct was tried %d times, want once", n)
	}
	if n := adminReports(); n != 1 {
		t.Errorf("admins told %d times, want once", n)
	}
	if due, _ := h.app.Ledger.Due(h.ctx(), h.clock.Now().Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("still due: %+v", due)
	}
	if got, _ := h.app.Ledger.ByKey(h.ctx(), key); got.State != ledger.RecallFailed || got.Reason != "NOT_ALLOWED" {
		t.Errorf("entry: %s %s", got.State, got.Reason)
	}
	// 24 h is the whole window: refused like anything longer.
	for _, d := range []string{"24h", "23h59m30s", "25h"} {
		r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"x","expires_in":%q}`, privCID, d))
		if r.StatusCode != 400 {
			t.Errorf("expires_in %s: %d %v", d, r.StatusCode, body)
		}
	}
}
