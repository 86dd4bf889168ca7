package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

// TestLedgerDownRefusesSends: the bot never sends what it cannot record.
func TestLedgerDownRefusesSends(t *testing.T) {
	led, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	api := newAPI(t, "tok-0123456789abcdef", led, operator.Config{Ready: func() bool { return true }}, recall.Config{})
	api.Metrics = NewMetrics(MetricsConfig{LedgerCounts: led.Counts})
	h := api.Handler()
	_ = led.Close() // the ledger goes away
	req := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(`{"family":"group","conversation_id":"c","text":"x"}`))
	req.Header.Set("Authorization", "Bearer tok-0123456789abcdef")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "ledger_unavailable") {
		t.Errorf("send with the ledger down: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the ledger down: %d", w.Code)
	}
	// The metrics still scrape: the spool's gauges matter most now.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "recallbot_ledger_up 0") {
		t.Errorf("/metrics with the ledger down: %d %.300s", w.Code, w.Body)
	}
	// Every route that needs the ledger says so the same way.
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/recalls", `{"keys":["k1"]}`},
		{"POST", "/v1/recalls", `{"conversation_id":"cidX","last":2}`},
		{"GET", "/v1/audit", ""},
		{"GET", "/v1/entries/pending", ""},
		{"GET", "/v1/conversations/cidX/messages", ""},
		{"GET", "/v1/conversations/cidX/messages?family=group", ""},
		{"GET", "/v1/messages/k1", ""},
		{"POST", "/v1/entries/1/resolve", `{"state":"unknown"}`},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer tok-0123456789abcdef")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "ledger_unavailable") {
			t.Errorf("%s %s with the ledger down: %d %s", c.method, c.path, w.Code, w.Body)
		}
	}
}

// TestRequestsThatAreWrongSaySo: bad query values, oversized bodies,
// malformed keys and unknown routes get a precise answer; unknown /v1
// routes only with the token.
func TestRequestsThatAreWrongSaySo(t *testing.T) {
	led := tempLedger(t)
	api := newAPI(t, "tok-0123456789abcdef", led, operator.Config{Ready: func() bool { return true }}, recall.Config{})
	h := api.Handler()
	for _, c := range []struct {
		method, path, body string
		token              bool
		status             int
	}{
		{"GET", "/v1/nope", "", false, http.StatusUnauthorized},
		{"GET", "/v1/nope", "", true, http.StatusNotFound},
		{"GET", "/v1/audit?limit=abc", "", true, http.StatusBadRequest},
		{"GET", "/v1/conversations/c/messages?family=group&limit=-3", "", true, http.StatusBadRequest},
		{"GET", "/v1/entries/bogus", "", true, http.StatusBadRequest},
		{"POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"` + strings.Repeat("x", 2<<20) + `"}`, true, http.StatusRequestEntityTooLarge},
		{"POST", "/v1/entries/1/resolve", `{"state":"sent","process_query_key":"two words"}`, true, http.StatusBadRequest},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		if c.token {
			req.Header.Set("Authorization", "Bearer tok-0123456789abcdef")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.status {
			t.Errorf("%s %s (token %v): %d %s, want %d", c.method, c.path, c.token, w.Code, w.Body, c.status)
		}
	}
	// The scheme is case-insensitive (RFC 7235); the token is not.
	for auth, want := range map[string]int{"bearer tok-0123456789abcdef": 200, "BEARER tok-0123456789abcdef": 200,
		"Bearer TOK-0123456789ABCDEF": 401, "Basic tok-0123456789abcdef": 401, "Bearer": 401} {
		req := httptest.NewRequest("GET", "/v1/audit", nil)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("Authorization %q: %d, want %d", auth, w.Code, want)
		}
	}
}

// TestBatchIDsArePlainWords: a batch id is shown in chat, URLs and logs,
// so one that is not a plain word is refused before anything is sent.
func TestBatchIDsArePlainWords(t *testing.T) {
	led := tempLedger(t)
	api := newAPI(t, "tok-0123456789abcdef", led, operator.Config{}, recall.Config{})
	h := api.Handler()
	for _, id := range []string{"../../etc", "[click](http://evil)\nline2", "a b", strings.Repeat("x", 129)} {
		body, _ := json.Marshal(map[string]any{"family": "group", "conversation_id": "c", "text": "x", "batch_id": id})
		req := httptest.NewRequest("POST", "/v1/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-0123456789abcdef")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 400 || !strings.Contains(w.Body.String(), "batch_id") {
			t.Errorf("batch_id %.30q: %d %s", id, w.Code, w.Body)
		}
	}
}
