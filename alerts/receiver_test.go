package alerts

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

func serve(rc *Receiver, source string, body []byte) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/alerts/{source}", rc)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/alerts/"+source, bytes.NewReader(body)))
	return w
}

// TestReceiverAnswers: 200 once the wanted state is in the ledger (the
// group is due, nothing is sent yet), 400 with a sentence for a bad body,
// 422 for a receiver without a route and no default, 503 while the ledger
// cannot take it, so that Alertmanager tries again. Alertmanager 0.25's
// escaped receiver names find their route.
func TestReceiverAnswers(t *testing.T) {
	led, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var woken []string
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	rc := &Receiver{Config: Config{Routes: map[string]Target{"db.oncall": {Group: "cidDB"}, "team": {Users: []string{"u1", "u2"}}}},
		Ledger: led, Log: zap.NewNop(), Metrics: m, Wake: func(id string) { woken = append(woken, id) }}
	body := readFile(t, "alertmanager-0.25-firing.json") // receiver "db\.oncall"
	if w := serve(rc, SourceAlertmanager, body); w.Code != 200 || len(woken) != 1 {
		t.Fatalf("a good notification: %d %s, woke %v", w.Code, w.Body, woken)
	}
	g, err := alertGroup(context.Background(), led, ledger.Chat{Family: ledger.Group, ConversationID: "cidDB"}, woken[0])
	if err != nil || !g.Due() || g.Chat.ConversationID != "cidDB" || g.Route != "db.oncall" || g.Entry != 0 {
		t.Errorf("the group after it: %+v, %v", g, err)
	}
	// One group per chat for a route to several users.
	// (Another receiver is another route of Alertmanager's: another group key.)
	team := bytes.Replace(bytes.Replace(body, []byte(`"db\\.oncall"`), []byte(`"team"`), 1), []byte(`"groupKey": "{}:`), []byte(`"groupKey": "{}/team:`), 1)
	if w := serve(rc, SourceAlertmanager, team); w.Code != 200 || len(woken) != 3 || woken[1] == woken[2] {
		t.Errorf("a route to two users: %d, woke %v", w.Code, woken)
	}
	if w := serve(rc, SourceAlertmanager, []byte(`{"version":"4"}`)); w.Code != 400 || !strings.Contains(w.Body.String(), "bad_payload") {
		t.Errorf("a bad body: %d %s", w.Code, w.Body)
	}
	other := bytes.Replace(bytes.Replace(body, []byte(`"db\\.oncall"`), []byte(`"web"`), 1), []byte(`"groupKey": "{}:`), []byte(`"groupKey": "{}/web:`), 1)
	if w := serve(rc, SourceAlertmanager, other); w.Code != 422 || !strings.Contains(w.Body.String(), `receiver \"web\" has no route`) {
		t.Errorf("no route: %d %s", w.Code, w.Body)
	}
	rc.Config.Default = &Target{Group: "cidAll"}
	if w := serve(rc, SourceAlertmanager, other); w.Code != 200 {
		t.Errorf("the default route: %d %s", w.Code, w.Body)
	}
	if w := serve(rc, "nagios", body); w.Code != 404 {
		t.Errorf("an unknown source: %d", w.Code)
	}
	_ = led.Close() // the ledger goes away
	if w := serve(rc, SourceAlertmanager, body); w.Code != 503 || !strings.Contains(w.Body.String(), "ledger_unavailable") {
		t.Errorf("ledger down: %d %s", w.Code, w.Body)
	}
	got := map[string]float64{}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mt.GetLabel() {
				key += "," + l.GetValue()
			}
			got[key] = mt.GetCounter().GetValue()
		}
	}
	for key, want := range map[string]float64{
		// labels by name: result, route, source
		"recallbot_alert_notifications_total,taken,db.oncall,alertmanager":       1,
		"recallbot_alert_notifications_total,taken,team,alertmanager":            1,
		"recallbot_alert_notifications_total,taken,default,alertmanager":         1,
		"recallbot_alert_notifications_total,ledger_down,db.oncall,alertmanager": 1,
		"recallbot_alert_notifications_total,no_route,,alertmanager":             1,
		"recallbot_alert_notifications_total,bad_payload,,alertmanager":          1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v (all: %v)", key, got[key], want, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Style: StyleMarkdown, OnResolved: ResolvedRecall, Routes: map[string]Target{"db": {Group: "cid"}, "ops": {Users: []string{"a", "b"}}},
		Default: &Target{User: "u"}, AlertmanagerURL: "http://127.0.0.1:9093", Responders: []string{"x"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good config: %v", err)
	}
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Style: "fancy"}, "alerts.style"},
		{Config{OnResolved: "delete"}, "alerts.on_resolved"},
		{Config{Routes: map[string]Target{"db": {}}}, "alerts.routes.db: name exactly one"},
		{Config{Routes: map[string]Target{"db": {Group: "c", User: "u"}}}, "alerts.routes.db: name exactly one"},
		{Config{Routes: map[string]Target{"db": {Users: []string{""}}}}, "alerts.routes.db.users[0]"},
		{Config{Default: &Target{}}, "alerts.default"},
		{Config{AlertmanagerURL: "localhost:9093"}, "alerts.alertmanager_url"},
		{Config{AlertmanagerURL: "http://user:pw@am:9093"}, "alerts.alertmanager_url"},
		{Config{Responders: []string{" "}}, "alerts.responders[0]"},
		{Config{MaxAlerts: 99}, "alerts.max_alerts"},
	} {
		if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.c, err, tc.want)
		}
	}
}

// TestReceiverBoundsBytesInFlight: notifications are read and decoded
// within a budget of bytes: one that would go past it waits a while and
// is then answered 503 with Retry-After (Alertmanager retries), and is
// taken once the bytes are given back. So parallel large notifications
// cannot take the process's memory.
func TestReceiverBoundsBytesInFlight(t *testing.T) {
	led, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	body := readFile(t, "alertmanager-0.25-firing.json")
	rc := &Receiver{Config: Config{Default: &Target{Group: "cid"}}, Ledger: led, Log: zap.NewNop(), MaxInFlight: int64(len(body)) + 10, BusyWait: time.Millisecond}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/alerts/{source}", rc)

	// A large notification whose body is still coming holds the budget.
	pr, pw := io.Pipe()
	slow := httptest.NewRequest(http.MethodPost, "/v1/alerts/alertmanager", pr)
	slow.ContentLength = int64(len(body))
	done := make(chan int)
	go func() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, slow)
		done <- w.Code
	}()
	if _, err := pw.Write(body[:1]); err != nil { // returns once the handler reads: it holds the budget
		t.Fatal(err)
	}
	w := serve(rc, SourceAlertmanager, body)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "busy") {
		t.Errorf("past the budget: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	_, _ = pw.Write(body[1:])
	_ = pw.Close()
	if code := <-done; code != 200 {
		t.Errorf("the large notification: %d", code)
	}
	if w := serve(rc, SourceAlertmanager, body); w.Code != 200 {
		t.Errorf("after the budget was given back: %d %s", w.Code, w.Body)
	}
}
