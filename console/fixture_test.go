package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/httpapi"
	"github.com/recallbot/recallbot/internal/clock"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

const (
	testToken = "console-test-token-0123456789"
	privCID   = "cidPrivate=="
	groupCID  = "cidGroup"
)

// fixture is the bot's HTTP side wired as app.go wires it (ledger, client,
// sender, engine, broadcaster, API, console) against the emulator, served
// on a loopback httptest server.
type fixture struct {
	t      *testing.T
	srv    *dingtalktest.Server
	led    *ledger.Bolt
	sender *recall.Sender
	api    *httpapi.API
	op     *operator.Operator
	bc     *recall.Broadcaster
	con    *Console
	web    *httptest.Server
	clock  *clock.Clock // the bot's clock; the emulator keeps real time
}

func newFixture(t *testing.T, locale string, tune ...func(*Config)) *fixture {
	t.Helper()
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	_ = srv.AddConversation(privCID, dingtalktest.KindPrivate, "a person-to-person chat")
	_ = srv.AddConversation(groupCID, dingtalktest.KindGroup, "a group")
	led, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, led: led, clock: clock.Offset(0)}
	o := srv.Options()
	// A call whose answer a test holds at the emulator (HoldAnswers) waits
	// for its release, however slow the machine, not for a client timeout.
	client := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode,
		CoolAppCode: o.CoolAppCode, Timeout: time.Minute, QPS: 200}, nil)
	log := zap.NewNop()
	f.sender = recall.NewSender(led, client, log, recall.SenderConfig{Now: f.clock.Now})
	engine := recall.New(led, client, log, recall.Config{Locale: locale, Now: f.clock.Now})
	f.bc = recall.NewBroadcaster(led, client, log, recall.BroadcastConfig{Now: f.clock.Now})
	bg, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f.bc.Run(bg) }()
	f.op = operator.New(led, f.sender, engine, f.bc, func(fn func(context.Context)) { wg.Add(1); go func() { defer wg.Done(); fn(bg) }() },
		operator.Config{Ready: func() bool { return true }, Locale: locale, Now: f.clock.Now, Log: log, Version: "v1.2.3"})
	f.api = &httpapi.API{Token: testToken, Operator: f.op, Ledger: led, Log: log, Now: f.clock.Now}
	cfg := Config{Token: testToken, Operator: f.op, Ledger: led, Refused: f.api.Refused, Locale: locale, Now: f.clock.Now}
	for _, fn := range tune {
		fn(&cfg)
	}
	f.con = New(cfg)
	f.api.UI = f.con
	f.web = httptest.NewServer(f.api.Handler())
	t.Cleanup(func() {
		f.con.Shutdown()
		f.web.Close()
		cancel()
		wg.Wait()
		_ = led.Close()
	})
	return f
}

// send sends a text through the bot's sender.
func (f *fixture) send(chat ledger.Chat, text string, o recall.SendOptions) ledger.Entry {
	f.t.Helper()
	if o.Origin == "" {
		o.Origin = ledger.OriginAPI
	}
	e, err := f.sender.Send(context.Background(), chat, dingtalk.Text(text), o)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

var (
	privChat  = ledger.Chat{Family: ledger.Private, ConversationID: privCID}
	groupChat = ledger.Chat{Family: ledger.Group, ConversationID: groupCID}
)

// browser is an HTTP client with its own cookies that does not follow
// redirects, so a test sees each answer.
type browser struct {
	f *fixture
	c *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is one response, read.
type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) answer {
	b.f.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) get(path string, header ...string) answer {
	b.f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.f.web.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) answer {
	b.f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.f.web.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login logs in as name and returns the page's CSRF token.
func (b *browser) login(name string) string {
	b.f.t.Helper()
	a := b.post("/ui/login", url.Values{"token": {testToken}, "name": {name}})
	if a.status != http.StatusSeeOther {
		b.f.t.Fatalf("login: %d %s", a.status, a.body)
	}
	return b.csrf()
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf" content="([0-9a-f]+)">`)

// csrf reads the CSRF token from a page.
func (b *browser) csrf() string {
	b.f.t.Helper()
	a := b.get("/ui/")
	m := csrfMeta.FindStringSubmatch(a.body)
	if a.status != http.StatusOK || m == nil {
		b.f.t.Fatalf("no CSRF token on /ui/: %d %s", a.status, a.body)
	}
	return m[1]
}

// rows returns the data-id attributes of a page's message rows.
func rows(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr data-id="(\d+)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func ids(es ...ledger.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprint(e.ID))
	}
	return out
}

// field reads an input's value from a page.
func field(body, name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
