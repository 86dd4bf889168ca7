package alerts

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/alerts/alertmanager"
	"github.com/recallbot/recallbot/alerts/alertmanagertest"
	"github.com/recallbot/recallbot/ledger"
)

// latency is alert Latency of team on instance, as posted to Alertmanager
// and as a notification to the bot carries it.
func latency(team, instance string) (alertmanagertest.Alert, Alert) {
	labels := map[string]string{"alertname": "Latency", "team": team, "instance": instance}
	return alertmanagertest.Alert{Labels: labels},
		Alert{Status: "firing", Labels: labels, StartsAt: time.Now().Add(-time.Minute), Fingerprint: team + instance}
}

// silenceFixture is Debian's Alertmanager with alerts posted to it, a
// ledger, and the chat actions over both; chat holds group Latency of
// team (routed there by team, as Alertmanager does with group_by
// [alertname]).
type silenceFixture struct {
	am  *alertmanagertest.Server
	led *ledger.Bolt
	act *Actions
}

func newSilenceFixture(t *testing.T, via string, alerts ...alertmanagertest.Alert) *silenceFixture {
	t.Helper()
	am := alertmanagertest.Start(t, alertmanagertest.Options{WebhookURL: "http://127.0.0.1:9/nowhere", Token: "t"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := am.Post(ctx, alerts...); err != nil {
		t.Fatal(err)
	}
	led, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = led.Close() })
	if via == "" {
		via = am.URL
	}
	act := &Actions{Ledger: led, Log: zap.NewNop(), Alertmanager: &alertmanager.Client{BaseURL: via, HTTP: &http.Client{Timeout: 2 * time.Second}}}
	return &silenceFixture{am: am, led: led, act: act}
}

// group records the notification of team's Latency group in chat and
// returns the ID its message shows.
func (f *silenceFixture) group(t *testing.T, chat ledger.Chat, as ...Alert) string {
	t.Helper()
	common := map[string]string{}
	for k, v := range as[0].Labels {
		common[k] = v
	}
	n := Notification{Source: SourceAlertmanager, Receiver: chat.ConversationID, Status: "firing", GroupKey: "{}/{team=\"" + as[0].Labels["team"] + "\"}:{alertname=\"Latency\"}",
		GroupLabels: map[string]string{"alertname": "Latency"}, CommonLabels: common, ExternalURL: f.am.URL, Alerts: as}
	g, err := notice(n, chat.ConversationID, chat, time.Now())
	if err == nil {
		g, err = f.led.PutAlert(context.Background(), g)
	}
	if err != nil {
		t.Fatal(err)
	}
	return displayID(g)
}

func (f *silenceFixture) states(t *testing.T) map[string]string {
	t.Helper()
	as, err := f.am.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range as {
		out[a.Labels["team"]+"/"+a.Labels["instance"]] = a.Status.State
	}
	return out
}

var (
	webChat = ledger.Chat{Family: ledger.Group, ConversationID: "cidWeb"}
	dbChat  = ledger.Chat{Family: ledger.Group, ConversationID: "cidDB"}
)

// TestSilenceStaysWithItsGroup: /silence of the web team's Latency group
// silences its alerts and not the database team's Latency alert routed
// to another chat: its matchers are every label the group's alerts
// share, not the group labels alone. And /unsilence says the group is no
// longer silenced only when no other silence in Alertmanager silences it.
func TestSilenceStaysWithItsGroup(t *testing.T) {
	ctx := context.Background()
	webAM, web := latency("web", "w1")
	dbAM, db := latency("db", "d1")
	f := newSilenceFixture(t, "", webAM, dbAM)
	webID := f.group(t, webChat, web)
	dbID := f.group(t, dbChat, db)

	if _, err := f.act.Silence(ctx, ActionRequest{Chat: webChat, Target: webID, Duration: time.Hour, Who: "u1", Locale: "en"}); err != nil {
		t.Fatal(err)
	}
	if got := f.states(t); got["web/w1"] != "suppressed" || got["db/d1"] != "active" {
		t.Errorf("after /silence in the web chat, Alertmanager's alerts: %v", got)
	}

	// Someone silences every Latency alert in Alertmanager's UI; the
	// database team silences and unsilences theirs from chat.
	amc := &alertmanager.Client{BaseURL: f.am.URL}
	ui, err := amc.Create(ctx, alertmanager.Silence{Matchers: []alertmanager.Matcher{{Name: "alertname", Value: "Latency", IsEqual: true}},
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), CreatedBy: "ops-lead", Comment: "maintenance"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.act.Silence(ctx, ActionRequest{Chat: dbChat, Target: dbID, Duration: time.Hour, Who: "u2", Locale: "en"}); err != nil {
		t.Fatal(err)
	}
	reply, err := f.act.Unsilence(ctx, ActionRequest{Chat: dbChat, Target: dbID, Who: "u2", Locale: "en"})
	if err != nil || strings.Contains(reply, "no longer silenced") || !strings.Contains(reply, "still silenced") || !strings.Contains(reply, ui) || !strings.Contains(reply, "ops-lead") {
		t.Errorf("/unsilence while another silence holds: %q, %v", reply, err)
	}
	_, err = f.act.Unsilence(ctx, ActionRequest{Chat: dbChat, Target: dbID, Who: "u2", Locale: "en"})
	if err == nil || !strings.Contains(err.Error(), ui) {
		t.Errorf("/unsilence with no silence from chat left: %v", err)
	}
	if err := amc.Expire(ctx, ui); err != nil {
		t.Fatal(err)
	}
	reply, err = f.act.Unsilence(ctx, ActionRequest{Chat: webChat, Target: webID, Who: "u1", Locale: "en"})
	if err != nil || !strings.Contains(reply, "no longer silenced") {
		t.Errorf("/unsilence with nothing else holding: %q, %v", reply, err)
	}
}

// slowProxy is Alertmanager behind a proxy that, for the next holdPosts
// silence creations, lets Alertmanager make the silence and then keeps
// its answer until the caller gives up (an Alertmanager that answers too
// late), and fails the next failGets lists of silences.
type slowProxy struct {
	holdPosts, failGets atomic.Int32
}

func (p *slowProxy) start(t *testing.T, target string) string {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v2/silences" && p.holdPosts.Add(-1) >= 0:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r.Clone(context.WithoutCancel(r.Context())))
			<-r.Context().Done() // the answer is kept until the caller is gone
			return
		case r.Method == http.MethodGet && r.URL.Path == "/api/v2/silences" && p.failGets.Add(-1) >= 0:
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `"upstream timeout"`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestSilenceWithoutAnswerIsFoundOrTold: a /silence whose creation
// Alertmanager answers too late is found by its marker and recorded, so
// the chat is told the truth (silenced) and /unsilence ends it; when
// Alertmanager cannot even be asked afterwards, the reply says the
// silence may exist, and /unsilence finds it by its marker and ends it.
// No silence made from chat stays hidden.
func TestSilenceWithoutAnswerIsFoundOrTold(t *testing.T) {
	ctx := context.Background()
	webAM, web := latency("web", "w1")
	p := &slowProxy{}
	f := newSilenceFixture(t, "", webAM)
	f.act.Alertmanager.BaseURL = p.start(t, f.am.URL)
	id := f.group(t, webChat, web)
	liveSilences := func() int {
		ss, err := f.am.Silences(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range ss {
			if s.Status.State == "active" {
				n++
			}
		}
		return n
	}

	p.holdPosts.Store(1)
	reply, err := f.act.Silence(ctx, ActionRequest{Chat: webChat, Target: id, Duration: time.Hour, Who: "u1", Locale: "en"})
	g := f.mustGroup(t, webChat)
	if err != nil || !strings.Contains(reply, "Silenced") || len(g.Silences) != 1 || liveSilences() != 1 {
		t.Fatalf("a creation answered too late: %q, %v; recorded %+v; %d live in Alertmanager", reply, err, g.Silences, liveSilences())
	}
	if reply, err := f.act.Unsilence(ctx, ActionRequest{Chat: webChat, Target: id, Who: "u1", Locale: "en"}); err != nil || liveSilences() != 0 {
		t.Fatalf("/unsilence of it: %q, %v; %d live", reply, err, liveSilences())
	}

	p.holdPosts.Store(1)
	p.failGets.Store(1)
	_, err = f.act.Silence(ctx, ActionRequest{Chat: webChat, Target: id, Duration: time.Hour, Who: "u1", Locale: "en"})
	if err == nil || !strings.Contains(err.Error(), "may have") || !strings.Contains(err.Error(), "/unsilence "+id) {
		t.Errorf("a creation answered too late, and no look possible: %v", err)
	}
	if liveSilences() != 1 {
		t.Fatalf("%d live silences", liveSilences())
	}
	if reply, err := f.act.Unsilence(ctx, ActionRequest{Chat: webChat, Target: id, Who: "u1", Locale: "en"}); err != nil || liveSilences() != 0 || !strings.Contains(reply, "no longer silenced") {
		t.Errorf("/unsilence of a silence the ledger never recorded: %q, %v; %d live", reply, err, liveSilences())
	}
}

func (f *silenceFixture) mustGroup(t *testing.T, chat ledger.Chat) ledger.AlertGroup {
	t.Helper()
	gs, err := f.led.ChatAlerts(context.Background(), chat, "")
	if err != nil || len(gs) != 1 {
		t.Fatalf("groups of %s: %+v, %v", chat.Key(), gs, err)
	}
	return gs[0]
}
