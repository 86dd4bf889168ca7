package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

// TestRootLeadsToTheConsole: GET / on the bot's listener redirects to the
// console when it is on, and says what is served and how to turn the
// console on when it is off; /favicon.ico leads to the console's icon.
func TestRootLeadsToTheConsole(t *testing.T) {
	led := tempLedger(t)
	a := newAPI(t, "0123456789abcdef", led, operator.Config{}, recall.Config{})
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		a.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	if w := get("/"); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "http.console: true") {
		t.Errorf("GET / without the console: %d %s", w.Code, w.Body)
	}
	if w := get("/favicon.ico"); w.Code != http.StatusNotFound {
		t.Errorf("GET /favicon.ico without the console: %d", w.Code)
	}
	a.UI = http.NotFoundHandler()
	if w := get("/"); w.Code != http.StatusFound || w.Header().Get("Location") != "/ui/" {
		t.Errorf("GET / with the console: %d to %q, want 302 to /ui/", w.Code, w.Header().Get("Location"))
	}
	if w := get("/favicon.ico"); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/ui/static/favicon.svg" {
		t.Errorf("GET /favicon.ico with the console: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if w := get("/nowhere"); w.Code != http.StatusNotFound {
		t.Errorf("GET /nowhere: %d", w.Code)
	}
}
