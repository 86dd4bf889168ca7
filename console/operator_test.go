package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestConsoleCallsTheOperatorNotTheAPI: the console's actions are the
// operator's, called directly, not requests to the API's handler made in
// process: the HTTP access log has the operator's own requests to /ui/
// and nothing of /v1, however much the console does.
func TestConsoleCallsTheOperatorNotTheAPI(t *testing.T) {
	f := newFixture(t, "en")
	core, logs := observer.New(zapcore.InfoLevel)
	f.api.Log = zap.New(core)
	e := f.send(privChat, "release at 20:00", recall.SendOptions{})
	if _, err := f.led.Append(t.Context(), ledger.Entry{Chat: privChat, MsgKey: "sampleText", Excerpt: "maybe sent", Origin: ledger.OriginAPI}); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	csrf := b.login("alice")
	preview := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(e)})
	a := b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {field(preview.body, "plan")}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("recall: %d %s", a.status, a.body)
	}
	events(t, b, a.header.Get("Location")+"/events")
	for _, path := range []string{a.header.Get("Location"), "/ui/entries", "/ui/audit", "/ui/read?key=" + url.QueryEscape(e.ProcessQueryKey)} {
		if got := b.get(path); got.status != http.StatusOK {
			t.Errorf("GET %s: %d", path, got.status)
		}
	}
	var ui int
	for _, l := range logs.FilterMessage("http request").All() {
		route := l.ContextMap()["route"].(string)
		switch {
		case strings.Contains(route, "/v1/"), route == "GET /readyz":
			t.Errorf("the console's work reached the API's handler: %s", route)
		case strings.Contains(route, "/ui/"):
			ui++
		}
	}
	if ui < 8 {
		t.Errorf("%d requests to /ui/ in the access log, want every one of the operator's", ui)
	}
}
