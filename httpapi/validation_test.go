package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

// TestBadRequestsAreRefusedWithASentence: each bad request gets its status,
// its code and a sentence that says what to fix, and nothing is done:
// nothing is sent, nothing is written to the ledger or the audit trail.
func TestBadRequestsAreRefusedWithASentence(t *testing.T) {
	led := tempLedger(t)
	const tok = "tok-0123456789abcdef"
	h := newAPI(t, tok, led, operator.Config{Locale: "en"}, recall.Config{}).Handler()
	many := `"u"` + strings.Repeat(`,"u"`, operator.MaxBroadcastTargets)
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		// The body, whatever the route.
		{"not JSON", "POST", "/v1/messages", `{"family":"private"`, 400, "bad_request", "the body must be a JSON object: unexpected EOF"},
		{"not an object", "POST", "/v1/messages", `[]`, 400, "bad_request", "the body must be a JSON object: json: cannot unmarshal array"},
		{"two objects", "POST", "/v1/messages", `{} {}`, 400, "bad_request", "the body must hold one JSON object"},
		{"an unknown field", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","colour":"red"}`, 400, "bad_request", `unknown field "colour"`},
		{"a key twice", "POST", "/v1/messages", `{"family":"oto","user_id":"a","user_id":"b","text":"t"}`, 400, "bad_request", `"user_id" is given twice`},
		{"a key twice in another case", "POST", "/v1/messages", `{"family":"oto","user_id":"a","USER_ID":"b","text":"t"}`, 400, "bad_request", `"user_id" and "USER_ID"`},
		{"too large", "POST", "/v1/messages", `{"text":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too_large", "the body is larger than 1024 KiB"},
		{"a client too long", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","client":"` + strings.Repeat("x", 65) + `"}`, 400, "bad_request", "client is 65 characters long"},
		{"a client with a direction mark", "POST", "/v1/recalls", `{"keys":["k"],"client":"ops\u202e"}`, 400, "bad_request", "not printable text (U+202E)"},
		{"a client too long in the query", "GET", "/v1/audit?client=" + strings.Repeat("x", 65), "", 400, "bad_request", "client is 65 characters long"},

		// POST /v1/messages
		{"no such family", "POST", "/v1/messages", `{"family":"fax","conversation_id":"c","text":"t"}`, 400, "bad_request", `chat family "fax" is not private, oto or group`},
		{"oto without a user", "POST", "/v1/messages", `{"family":"oto","text":"t"}`, 400, "bad_request", "an oto chat needs the recipient's user id"},
		{"group without a conversation", "POST", "/v1/messages", `{"family":"group","text":"t"}`, 400, "bad_request", "a group chat needs a conversation id"},
		{"no text", "POST", "/v1/messages", `{"family":"group","conversation_id":"c"}`, 400, "bad_request", `"text" (or "msg_key" and "msg_param") is required`},
		{"blank text", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"  "}`, 400, "bad_request", `"text" (or "msg_key" and "msg_param") is required`},
		{"text and a template", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","msg_key":"sampleText"}`, 400, "bad_request", `give "text" or "msg_key" with "msg_param", not both`},
		{"a batch id that is not a word", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","batch_id":"a b"}`, 400, "bad_request", `batch_id "a b" must be 1 to 128 letters`},
		{"expires_in not a duration", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","expires_in":"soon"}`, 400, "bad_request", `expires_in "soon" is not a positive duration`},
		{"expires_in negative", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","expires_in":"-5s"}`, 400, "bad_request", `expires_in "-5s" is not a positive duration`},
		{"expires_in past the window", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","expires_in":"25h"}`, 400, "refused", "is too long: a self-destruct must come at least a minute before"},

		// POST /v1/broadcasts
		{"a broadcast to nobody", "POST", "/v1/broadcasts", `{"text":"t"}`, 400, "bad_request", "targets and user_ids must name 1 to 100000 recipients"},
		{"a broadcast to too many", "POST", "/v1/broadcasts", `{"text":"t","user_ids":[` + many + `]}`, 400, "bad_request", "targets and user_ids must name 1 to 100000 recipients"},
		{"a broadcast without text", "POST", "/v1/broadcasts", `{"user_ids":["u"]}`, 400, "bad_request", `"text" (or "msg_key" and "msg_param") is required`},
		{"a broadcast's batch id", "POST", "/v1/broadcasts", `{"user_ids":["u"],"text":"t","batch_id":"../x"}`, 400, "bad_request", `batch_id "../x" must be 1 to 128 letters`},
		{"a key twice in a target", "POST", "/v1/broadcasts", `{"targets":[{"family":"oto","user_id":"a","user_id":"b"}],"text":"t"}`, 400, "bad_request", `"user_id" is given twice in targets[0]`},

		// POST /v1/recalls
		{"an empty selection", "POST", "/v1/recalls", `{}`, 400, "bad_selection", "the selection is empty"},
		{"an empty selection in the background", "POST", "/v1/recalls", `{"async":true}`, 400, "bad_selection", "the selection is empty"},
		{"since neither a duration nor a time", "POST", "/v1/recalls", `{"conversation_id":"c","since":"yesterday"}`, 400, "bad_request", `since "yesterday" is neither a duration (30m) nor an RFC 3339 time`},
		{"a conversation the ledger does not know", "POST", "/v1/recalls", `{"conversation_id":"nowhere","last":1}`, 400, "bad_request", "the ledger has no messages in conversation nowhere"},

		// POST /v1/entries/{id}/resolve
		{"an entry id that is not a number", "POST", "/v1/entries/abc/resolve", `{"state":"unknown"}`, 400, "bad_request", "the entry id must be a positive number"},
		{"entry id 0", "POST", "/v1/entries/0/resolve", `{"state":"unknown"}`, 400, "bad_request", "the entry id must be a positive number"},
		{"a key DingTalk could not have returned", "POST", "/v1/entries/1/resolve", `{"state":"sent","process_query_key":"two words"}`, 400, "bad_request", "process_query_key is not a key DingTalk could have returned"},
		{"sent without its key", "POST", "/v1/entries/1/resolve", `{"state":"sent"}`, 409, "cannot_resolve", "resolving to sent needs the message's process_query_key"},
		{"a state a send cannot end in", "POST", "/v1/entries/1/resolve", `{"state":"recalled"}`, 409, "cannot_resolve", `a pending entry resolves to sent, send_failed or unknown, not "recalled"`},
		{"an entry the ledger does not know", "POST", "/v1/entries/999/resolve", `{"state":"unknown"}`, 404, "not_found", "no entry 999"},

		// The queries.
		{"a limit that is not a number", "GET", "/v1/audit?limit=abc", "", 400, "bad_request", `limit must be a whole number, not "abc"`},
		{"a negative limit", "GET", "/v1/conversations/c/messages?family=group&limit=-3", "", 400, "bad_request", `limit must be a whole number, not "-3"`},
		{"before that is not a number", "GET", "/v1/conversations/c/messages?before=x", "", 400, "bad_request", `before must be a whole number, not "x"`},
		{"no such trail", "GET", "/v1/audit?trail=bogus", "", 400, "bad_request", `trail is empty (recalls) or "access" (refused requests)`},
		{"no such state", "GET", "/v1/entries/bogus", "", 400, "bad_request", `"bogus" is not a state: one of pending, sent, `},
		{"no such family in the query", "GET", "/v1/conversations/c/messages?family=fax", "", 400, "bad_request", "family is private, oto or group"},
		{"a conversation with no messages", "GET", "/v1/conversations/nobody/messages", "", 404, "unknown_conversation", "the ledger has no messages in conversation nobody"},
		{"a message without its key", "GET", "/v1/messages", "", 404, "not_found", "name a message: GET /v1/messages/{process_query_key}"},
		{"no such route", "GET", "/v1/nope", "", 404, "not_found", "no such route: GET /v1/nope"},
		{"a URL too long", "GET", "/v1/audit?x=" + strings.Repeat("y", 2100), "", 414, "uri_too_long", "the URL is longer than 2048 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			e := &api.Error{Status: w.Code}
			if err := json.Unmarshal(w.Body.Bytes(), e); err != nil {
				t.Fatalf("%s %s: %d, not the error envelope: %v: %.200s", c.method, c.path, w.Code, err, w.Body)
			}
			if w.Code != c.status || e.Code != c.code || !strings.Contains(e.Message, c.msg) {
				t.Errorf("%s %s %.80s\n= %d %s %q\nwant %d %s, a message with %q", c.method, c.path, c.body, w.Code, e.Code, e.Message, c.status, c.code, c.msg)
			}
		})
	}
	counts, err := led.Counts(t.Context())
	if err != nil || counts.Total() != 0 {
		t.Errorf("bad requests wrote entries: %v, %v", counts, err)
	}
	if recs, err := led.Audit(t.Context(), ledger.AuditQuery{Limit: 10}); err != nil || len(recs) != 0 {
		t.Errorf("bad requests were audited as recalls: %+v, %v", recs, err)
	}
	if jobs, err := led.Jobs(t.Context(), ledger.JobRunning); err != nil || len(jobs) != 0 {
		t.Errorf("bad requests started broadcasts: %+v, %v", jobs, err)
	}
}
