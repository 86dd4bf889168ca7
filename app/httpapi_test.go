package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

func TestHTTPAPI(t *testing.T) {
	// Not parallel: it reads the Stream connection's state, which every
	// bot in this process shares (the SDK's log lines, the only signal, name
	// no connection), so another test's bot stopping would move it.
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
	if r, rc := h.do("POST", "/v1/recalls", testToken, `{"keys":["`+key+`"],"dry_run":true}`); r.StatusCode != 200 || rc["summary"] != "1 would be recalled" {
		t.Errorf("dry run: %d %v", r.StatusCode, rc)
	}
	if r, rc := h.do("POST", "/v1/recalls", testToken, `{"conversation_id":"`+privCID+`","last":5}`); r.StatusCode != 200 || rc["summary"] != "1 recalled (only 1 of the last 5 is in the ledger)" {
		t.Errorf("recall: %d %v", r.StatusCode, rc)
	}
	// Broadcast (one packed call for both users) and batch recall.
	batch, b := h.broadcast(`{"targets":[{"family":"oto","user_id":"a"},{"family":"oto","user_id":"b"}],"title":"Maintenance","text":"**22:00**"}`)
	if b["sent"] != 2.0 || b["send_calls"] != 1.0 || b["pending"] != 0.0 {
		t.Fatalf("broadcast: %v", b)
	}
	if r, rc := h.do("POST", "/v1/recalls", testToken, `{"batch_id":"`+batch+`"}`); r.StatusCode != 200 || rc["summary"] != "1 recalled · 2 people" {
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

// TestLargeBatchRecallReportsProgress: a broadcast to 250 users goes out
// in 13 calls of up to 20; recalling its batch with "async" answers 202
// at once with a Location, GET reports progress, and the finished record
// carries the receipt: 13 messages, 250 people, in one recall call per 20
// keys.
func TestLargeBatchRecallReportsProgress(t *testing.T) {
	t.Parallel()
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
	if job["state"] != "done" || rec == nil || rec["summary"] != "13 recalled · 250 people" || job["recall_calls"] != 1.0 {
		t.Errorf("finished record: %v", job)
	}
	if n := len(h.srv.CallsTo(dingtalktest.PathOTORecall)); n != 1 {
		t.Errorf("%d recall calls for 13 keys", n)
	}
	if r, _ := h.do("GET", "/v1/recalls/r-nope", testToken, ""); r.StatusCode != 404 {
		t.Errorf("unknown recall id: %d", r.StatusCode)
	}
}

// TestResolvePendingOverHTTP: POST /v1/entries/{id}/resolve settles a
// pending entry, audited; what cannot be resolved is refused clearly.
func TestResolvePendingOverHTTP(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.srv.Fail(dingtalktest.PathPrivateSend, dingtalktest.FaultServerError, 1)
	r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"in doubt"}`, privCID))
	if r.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("a 5xx on a send is unknown: %d %v", r.StatusCode, body)
	}
	id := uint64(body["entry"].(map[string]any)["id"].(float64))
	path := fmt.Sprintf("/v1/entries/%d/resolve", id)
	if r, body := h.do("POST", path, testToken, `{"state":"recalled"}`); r.StatusCode != http.StatusConflict {
		t.Errorf("bad state: %d %v", r.StatusCode, body)
	}
	if r, body := h.do("POST", "/v1/entries/999999/resolve", testToken, `{"state":"unknown"}`); r.StatusCode != 404 {
		t.Errorf("unknown entry: %d %v", r.StatusCode, body)
	}
	if r, body := h.do("POST", path, testToken, `{"state":"send_failed","note":"not in the chat","client":"ops"}`); r.StatusCode != 200 || body["state"] != "send_failed" {
		t.Errorf("resolve: %d %v", r.StatusCode, body)
	}
	if r, _ := h.do("POST", path, testToken, `{"state":"unknown"}`); r.StatusCode != http.StatusConflict {
		t.Errorf("resolving twice: %d", r.StatusCode)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 1})
	if len(recs) != 1 || recs[0].Action != "resolve" || recs[0].Actor != "api:ops" {
		t.Errorf("audit: %+v", recs)
	}
}
