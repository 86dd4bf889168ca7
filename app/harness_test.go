package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/recallbot/recallbot/internal/watch"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/cli"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/clock"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

const (
	admin     = "manager4220"
	admin2    = "ops0007"
	stranger  = "intern001"
	testToken = "test-http-token-0123456789"
	privCID   = "cidPrivateChat=="
)

// syncBuffer is an output a test reads while something else writes it.
type syncBuffer = watch.Buffer

type harness struct {
	t     *testing.T
	srv   *dingtalktest.Server
	app   *app.App
	logs  *syncBuffer
	clock clock.Clock // the bot's clock; the emulator keeps real time
}

// start runs the real bot, wired as `recallbot run` wires it, against a
// new emulator over loopback.
func start(t *testing.T, opts dingtalktest.Options, tune ...func(*config.Config)) *harness {
	t.Helper()
	if opts.QPS == 0 {
		opts.QPS = -1 // pacing is measured by the recall benchmark
	}
	srv, err := dingtalktest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return startOn(t, srv, tune...)
}

// startOn runs another bot against srv (several bots may share one).
func startOn(t *testing.T, srv *dingtalktest.Server, tune ...func(*config.Config)) *harness {
	t.Helper()
	cfg := emulatorConfig(srv, 200)
	cfg.DingTalk.Timeout = 2 * time.Second
	cfg.Admins = []string{admin, admin2}
	cfg.Ledger.Path = filepath.Join(t.TempDir(), "ledger.db")
	cfg.HTTP = config.HTTP{Listen: "127.0.0.1:0", Token: testToken, Console: true}
	cfg.Locale = "en"
	for _, f := range tune {
		f(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, logs: &syncBuffer{}}
	log, err := app.NewLogger(config.Log{Level: "debug", Format: "json"}, h.logs, cfg.Secrets())
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]bool{}
	for _, c := range srv.Connections() {
		before[c.ID] = true
	}
	h.app = app.New(cfg, log, app.Options{Now: h.clock.Now})
	if err := h.app.Open(h.ctx()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.app.Close(ctx)
		h.checkNoSecrets()
	})
	_ = srv.AddConversation(privCID, dingtalktest.KindPrivate, "a person-to-person chat")
	if err := srv.WaitUntil(h.ctx(), func() bool {
		for _, c := range srv.Connections() {
			if !before[c.ID] {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) advance(d time.Duration) { h.clock.Advance(d) }

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// checkNoSecrets: neither the client secret, the HTTP token nor any access
// token the emulator issued reached a log line.
func (h *harness) checkNoSecrets() {
	logs := h.logs.String()
	secrets := append([]string{h.app.Config.DingTalk.ClientSecret, testToken}, h.srv.IssuedTokens()...)
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			h.t.Errorf("a secret (%.6s…) reached the log", s)
		}
	}
}

// notify sends n messages into the private chat through the bot.
func (h *harness) notify(n int) []ledger.Entry {
	h.t.Helper()
	var out []ledger.Entry
	for i := range n {
		e, err := h.app.Sender.Send(h.ctx(), ledger.Chat{Family: ledger.Private, ConversationID: privCID}, dingtalk.Text(fmt.Sprintf("notice %d", i+1)), recall.SendOptions{Origin: ledger.OriginAuto})
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func (h *harness) botReplies(cid string) []dingtalktest.Message {
	c, _ := h.srv.Conversation(cid)
	var out []dingtalktest.Message
	for _, m := range c.Messages {
		if m.FromBot() && m.MsgKey == "sampleMarkdown" {
			out = append(out, m)
		}
	}
	return out
}

// say plays a user typing text in the private chat and returns the reply.
func (h *harness) say(who, text string) string {
	h.t.Helper()
	before := len(h.botReplies(privCID))
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: who, Text: text}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(h.botReplies(privCID)) > before }); err != nil {
		h.t.Fatalf("no reply to %q: %v\nlogs:\n%s", text, err, h.logs.String())
	}
	rs := h.botReplies(privCID)
	return rs[len(rs)-1].Text
}

// loggedDuplicate reports whether the bot logged msgID as a duplicate.
func (h *harness) loggedDuplicate(msgID string) bool {
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, "duplicate delivery ignored") && strings.Contains(line, msgID) {
			return true
		}
	}
	return false
}

func (h *harness) recalledCount() int {
	n := 0
	for _, m := range h.srv.BotMessages() {
		if m.Recalled {
			n++
		}
	}
	return n
}

func confirmCode(t *testing.T, reply string) string {
	t.Helper()
	_, after, ok := strings.Cut(reply, "/confirm ")
	if !ok {
		t.Fatalf("no confirmation code in %q", reply)
	}
	code, _, _ := strings.Cut(after, "*") // the code is shown bold
	return strings.TrimSpace(code)
}

// waitFor polls a condition nothing signals, until ctx ends (watch.Until).
var waitFor = watch.Until

func (h *harness) do(method, path, token, body string) (*http.Response, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, "http://"+h.app.HTTPAddr()+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{"raw": string(b)}
	}
	return resp, out
}

// broadcast starts a broadcast and waits until it is done; it returns the
// batch id and the final status.
func (h *harness) broadcast(body string) (string, map[string]any) {
	h.t.Helper()
	r, b := h.do("POST", "/v1/broadcasts", testToken, body)
	batch, _ := b["batch_id"].(string)
	if r.StatusCode != http.StatusAccepted || batch == "" || r.Header.Get("Location") != "/v1/broadcasts/"+url.PathEscape(batch) {
		h.t.Fatalf("broadcast: %d %v", r.StatusCode, b)
	}
	var st map[string]any
	if err := waitFor(h.ctx(), func() bool {
		_, st = h.do("GET", "/v1/broadcasts/"+url.PathEscape(batch), testToken, "")
		return st["state"] == "done"
	}); err != nil {
		h.t.Fatalf("broadcast %s never finished: %v", batch, st)
	}
	return batch, st
}

func (h *harness) get(path, token string) *http.Response {
	r, _ := h.do(http.MethodGet, path, token, "")
	return r
}

// emulatorConfig is the default configuration pointed at an emulator, with
// the client pacing itself at qps.
func emulatorConfig(srv *dingtalktest.Server, qps float64) config.Config {
	o := srv.Options()
	cfg := config.Default()
	cfg.DingTalk = config.DingTalk{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode,
		APIBase: srv.URL(), QPS: qps, Timeout: 5 * time.Second, KeepAlive: 120 * time.Second}
	return cfg
}

// run runs one of the operator's commands against the bot, as `recallbot`
// does with RECALLBOT_API set to its address (the token is set for every
// test, in TestMain).
func (h *harness) run(args []string, stdout, stderr io.Writer) error {
	return run(h.ctx(), append(args, "-api", "http://"+h.app.HTTPAddr()), stdout, stderr)
}

// run runs one of the operator's commands as `recallbot` does.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	commands := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"send": cli.Send, "recall": cli.Recall, "audit": cli.Audit, "entries": cli.Entries, "resolve": cli.Resolve,
		"broadcast": cli.Broadcast, "healthcheck": cli.Healthcheck, "demo": cli.Demo,
	}
	return commands[args[0]](ctx, args[1:], stdout, stderr)
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
