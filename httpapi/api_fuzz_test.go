package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

// refusingAPI is DingTalk refusing everything, without a network.
type refusingAPI struct{}

func (refusingAPI) err() error {
	return &dingtalk.APIError{Path: "/fake", Status: 400, Code: "invalid.openConversationId", Message: "no"}
}
func (a refusingAPI) SendPrivate(context.Context, string, dingtalk.Message) (string, error) {
	return "", a.err()
}
func (a refusingAPI) SendOTO(context.Context, string, dingtalk.Message) (string, error) {
	return "", a.err()
}
func (a refusingAPI) SendGroup(context.Context, string, dingtalk.Message) (string, error) {
	return "", a.err()
}
func (a refusingAPI) SendOTOMany(context.Context, []string, dingtalk.Message) (dingtalk.OTOResult, error) {
	return dingtalk.OTOResult{}, a.err()
}
func (a refusingAPI) RecallPrivate(context.Context, string, []string) (dingtalk.RecallResult, error) {
	return dingtalk.RecallResult{}, a.err()
}
func (a refusingAPI) RecallOTO(context.Context, []string) (dingtalk.RecallResult, error) {
	return dingtalk.RecallResult{}, a.err()
}
func (a refusingAPI) RecallGroup(context.Context, string, []string) (dingtalk.RecallResult, error) {
	return dingtalk.RecallResult{}, a.err()
}

var routes = []string{"/v1/messages", "/v1/recalls", "/v1/broadcasts"}

// FuzzAPI sends arbitrary bodies to the JSON routes: every answer is JSON
// and none is an internal error (500); nothing panics. (502 is DingTalk
// refusing, which the fake does to every send.)
func FuzzAPI(f *testing.F) {
	led, err := ledger.Open(filepath.Join(f.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		f.Fatal(err)
	}
	defer led.Close()
	a := newAPI(f, "fuzz-token-0123456789", led, operator.Config{Locale: "en"}, recall.Config{MaxAttempts: 1})
	h := a.Handler()
	for _, s := range []string{
		`{"family":"group","conversation_id":"c","text":"hi"}`,
		`{"family":"oto","user_id":"u","msg_key":"sampleText","msg_param":"{\"content\":\"x\"}","expires_in":"30s"}`,
		`{"conversation_id":"c","last":5,"dry_run":true}`,
		`{"keys":["k1","k2"]}`, `{"batch_id":"b"}`, `{"since":"30m","user_id":"u"}`,
		`{"targets":[{"family":"oto","user_id":"a"}],"text":"x"}`, `[]`, `null`, `{"last":-1}`,
	} {
		for i := range routes {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		route := routes[int(which)%len(routes)]
		req := httptest.NewRequest(http.MethodPost, route, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer fuzz-token-0123456789")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusInternalServerError {
			t.Fatalf("POST %s %q -> %d %s", route, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("POST %s %q -> not JSON: %s", route, body, w.Body)
		}
	})
}
