package autorecall_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/clock"
	"github.com/recallbot/recallbot/internal/onelanguage"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) AutoRecall(rule, mode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[rule+"/"+mode]++
}

func (c *counter) get(k string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[k] }

type fixture struct {
	srv     *dingtalktest.Server
	client  *dingtalk.Client
	ledPath string
	led     *ledger.Bolt
	sender  *recall.Sender
	engine  *recall.Engine
	svc     *autorecall.Service
	clock   *clock.Clock
	metrics *counter
}

var group = ledger.Chat{Family: ledger.Group, ConversationID: "cidOps"}

const admin = "manager4220"

func newFixture(t *testing.T, cfg autorecall.Config) *fixture {
	t.Helper()
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	_ = srv.AddConversation(group.ConversationID, dingtalktest.KindGroup, "ops")
	o := srv.Options()
	f := &fixture{srv: srv, clock: clock.Offset(0), metrics: &counter{}, ledPath: filepath.Join(t.TempDir(), "ledger.db")}
	f.client = dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode, QPS: 1000}, nil)
	f.open(t, cfg)
	return f
}

// open (re)builds everything on the fixture's ledger file, as a restart does.
func (f *fixture) open(t *testing.T, cfg autorecall.Config) {
	t.Helper()
	led, err := ledger.Open(f.ledPath, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = led.Close() })
	log := zap.NewNop()
	f.led = led
	f.sender = recall.NewSender(led, f.client, log, recall.SenderConfig{Now: f.clock.Now})
	f.engine = recall.New(led, f.client, log, recall.Config{Now: f.clock.Now, BackoffBase: time.Millisecond})
	cfg.Admins = []string{admin}
	cfg.Locale = "en"
	cfg.Now = f.clock.Now
	f.svc, err = autorecall.New(cfg, led, f.sender, f.engine, log, f.metrics)
	if err != nil {
		t.Fatal(err)
	}
	f.sender = f.sender.WithGuard(f.svc)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func (f *fixture) adminReports() []string {
	c, _ := f.srv.UserConversation(admin)
	var out []string
	for _, m := range c.Messages {
		out = append(out, m.Text)
	}
	return out
}

func TestBlockEnforceRefusesBeforeSending(t *testing.T) {
	f := newFixture(t, autorecall.Config{})
	_, err := f.sender.Send(ctx(t), group, dingtalk.Text("here: -----BEGIN RSA PRIVATE KEY-----\nMIIE"), recall.SendOptions{Actor: "ci"})
	var be *autorecall.BlockedError
	if !errors.As(err, &be) || be.Rule != "secrets" || !strings.Contains(err.Error(), "PEM private key") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.srv.CallsTo(dingtalktest.PathGroupSend)); n != 0 {
		t.Errorf("%d sends reached DingTalk", n)
	}
	if c, _ := f.led.Counts(ctx(t)); c.Total() != 0 {
		t.Errorf("a blocked message is in the ledger: %v", c)
	}
	a, _ := f.led.Audit(ctx(t), ledger.AuditQuery{Limit: 1})
	if len(a) != 1 || a[0].Actor != "rule:secrets" || a[0].Action != "auto_block" {
		t.Errorf("audit %+v", a)
	}
	if f.metrics.get("secrets/enforce") != 1 {
		t.Errorf("metrics %+v", f.metrics.n)
	}
}

// TestABlockIsAuditedAsFacts: the record of a blocked send keeps the
// rule's finding and the sender as facts, so a Chinese reader and an
// English one of the same record each read it in their language only; a
// record written before, in words, is shown as it is.
func TestABlockIsAuditedAsFacts(t *testing.T) {
	f := newFixture(t, autorecall.Config{})
	if _, err := f.sender.Send(ctx(t), group, dingtalk.Text("here: -----BEGIN RSA PRIVATE KEY-----\nMIIE"), recall.SendOptions{Actor: "api:ci"}); err == nil {
		t.Fatal("the secret was sent")
	}
	a, _ := f.led.Audit(ctx(t), ledger.AuditQuery{Limit: 1})
	if len(a) != 1 {
		t.Fatalf("audit %+v", a)
	}
	_, zh := recall.AuditWords(a[0], "zh", nil)
	_, en := recall.AuditWords(a[0], "en", nil)
	if !strings.Contains(zh, "PEM 私钥") || !strings.Contains(zh, "发送者：ci（API）") || onelanguage.EnglishRun(zh) != "" {
		t.Errorf("the record %+v reads in Chinese: %s", a[0], zh)
	}
	if !strings.Contains(en, "a PEM private key") || !strings.Contains(en, "sent by ci (API)") || strings.ContainsFunc(en, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		t.Errorf("the record %+v reads in English: %s", a[0], en)
	}
	old := ledger.AuditRecord{Actor: "rule:secrets", Action: "auto_block", Allowed: true, Note: "a PEM private key; sender api:ci"}
	if _, got := recall.AuditWords(old, "zh", nil); got != old.Note {
		t.Errorf("an older record's words = %q, want them as written", got)
	}
}

// TestInvisibleMarksDoNotHideASecret: a zero-width space or a direction
// mark typed inside a secret neither gets it past the secrets rule nor
// keeps it out of the redactor's reach.
func TestInvisibleMarksDoNotHideASecret(t *testing.T) {
	f := newFixture(t, autorecall.Config{})
	for _, text := range []string{"db password=hunter2\u200bhunter2", "AKIA\u200dIOSFODNN7EXAMPLE", "appSecret: Xq3_kd83\u202eJDk2mdk29DKmsk2dk29"} {
		_, err := f.sender.Send(ctx(t), group, dingtalk.Text(text), recall.SendOptions{Actor: "ci"})
		if be := (*autorecall.BlockedError)(nil); !errors.As(err, &be) || be.Rule != "secrets" {
			t.Errorf("Send(%q) = %v, want blocked by secrets", text, err)
		}
		if got := autorecall.NewRedactor(nil).Redact("note: " + text); strings.Contains(got, "hunter2") || strings.Contains(got, "IOSFODNN7") || strings.Contains(got, "kd83") {
			t.Errorf("Redact(%q) = %q", text, got)
		}
	}
	if n := len(f.srv.CallsTo(dingtalktest.PathGroupSend)); n != 0 {
		t.Errorf("%d sends reached DingTalk", n)
	}
}

func TestObserveOnlyCounts(t *testing.T) {
	f := newFixture(t, autorecall.Config{Rules: []autorecall.Rule{{Name: "templates", Action: autorecall.Block, Mode: autorecall.Observe}}})
	e, err := f.sender.Send(ctx(t), group, dingtalk.Text("on call: {{ .Name }}"), recall.SendOptions{})
	if err != nil || e.State != ledger.Sent {
		t.Fatalf("observe blocked: %v", err)
	}
	if f.metrics.get("templates/observe") != 1 {
		t.Errorf("metrics %+v", f.metrics.n)
	}
}

func TestRecallEnforceSendsThenRecallsAndReportsOnce(t *testing.T) {
	f := newFixture(t, autorecall.Config{Rules: []autorecall.Rule{{Name: "templates", Action: autorecall.Recall, Mode: autorecall.Enforce}}})
	e, err := f.sender.Send(ctx(t), group, dingtalk.Text("on call: {{ .Name }}"), recall.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The send does not wait for the recall: it is due, durably, and the
	// due worker's next tick takes it back.
	if m, _ := f.srv.Message(e.ProcessQueryKey); m.Recalled || len(f.srv.CallsTo(dingtalktest.PathGroupRecall)) != 0 {
		t.Error("the send waited for the recall")
	}
	if due, _ := f.led.Due(ctx(t), f.clock.Now(), 10); len(due) != 1 || due[0].ID != e.ID {
		t.Fatalf("due: %+v", due)
	}
	f.svc.RecallDue(ctx(t))
	if m, _ := f.srv.Message(e.ProcessQueryKey); !m.Recalled {
		t.Error("the message is still in the chat")
	}
	got, _ := f.led.Get(ctx(t), e.ID)
	if got.State != ledger.Recalled {
		t.Errorf("ledger says %s", got.State)
	}
	reports := f.adminReports()
	if len(reports) != 1 || !strings.Contains(reports[0], "rule templates found an unrendered {{ }} template; 1 recalled") {
		t.Errorf("admin reports %q", reports)
	}
	a, _ := f.led.Audit(ctx(t), ledger.AuditQuery{Limit: 1})
	if a[0].Actor != "rule:templates" || a[0].Action != "auto_recall" || a[0].Note != "an unrendered {{ }} template" {
		t.Errorf("audit %+v", a[0])
	}
}

func TestDuplicates(t *testing.T) {
	f := newFixture(t, autorecall.Config{Rules: []autorecall.Rule{{Name: "duplicates", Action: autorecall.Recall, Mode: autorecall.Enforce}}})
	first, _ := f.sender.Send(ctx(t), group, dingtalk.Text("deploy done"), recall.SendOptions{})
	second, _ := f.sender.Send(ctx(t), group, dingtalk.Text("deploy done"), recall.SendOptions{})
	f.svc.RecallDue(ctx(t))
	if m, _ := f.srv.Message(first.ProcessQueryKey); m.Recalled {
		t.Error("the first copy was recalled")
	}
	if m, _ := f.srv.Message(second.ProcessQueryKey); !m.Recalled {
		t.Error("the duplicate stayed")
	}
	f.clock.Advance(2 * time.Minute)
	third, _ := f.sender.Send(ctx(t), group, dingtalk.Text("deploy done"), recall.SendOptions{})
	f.svc.RecallDue(ctx(t))
	if m, _ := f.srv.Message(third.ProcessQueryKey); m.Recalled {
		t.Error("outside the window it is not a duplicate")
	}
	other, _ := f.sender.Send(ctx(t), ledger.Chat{Family: ledger.OTO, UserID: "u1"}, dingtalk.Text("deploy done"), recall.SendOptions{})
	f.svc.RecallDue(ctx(t))
	if m, _ := f.srv.Message(other.ProcessQueryKey); m.Recalled {
		t.Error("another chat is not a duplicate")
	}
}

func TestCustomRule(t *testing.T) {
	f := newFixture(t, autorecall.Config{Rules: []autorecall.Rule{{Name: "internal-hosts", Pattern: `\.corp\.internal\b`, Action: autorecall.Block, Mode: autorecall.Enforce}}})
	if _, err := f.sender.Send(ctx(t), group, dingtalk.Text("ssh db-7.corp.internal"), recall.SendOptions{}); err == nil {
		t.Error("custom rule did not block")
	}
	if _, err := f.sender.Send(ctx(t), group, dingtalk.Text("all good"), recall.SendOptions{}); err != nil {
		t.Error(err)
	}
}

func TestCircuitBreakerTripsAndResets(t *testing.T) {
	f := newFixture(t, autorecall.Config{MaxPerMinute: 2, PauseFor: 5 * time.Minute,
		Rules: []autorecall.Rule{{Name: "templates", Action: autorecall.Recall, Mode: autorecall.Enforce}}})
	var es []ledger.Entry
	for i := range 3 {
		e, _ := f.sender.Send(ctx(t), group, dingtalk.Text("x {{ .N }} "+string(rune('a'+i))), recall.SendOptions{})
		es = append(es, e)
	}
	f.svc.RecallDue(ctx(t)) // the three at once: two fit the limit
	if m, _ := f.srv.Message(es[2].ProcessQueryKey); m.Recalled || !f.svc.Paused() {
		t.Fatal("the breaker did not stop the third automatic recall")
	}
	if m, _ := f.srv.Message(es[1].ProcessQueryKey); !m.Recalled {
		t.Fatal("the breaker stopped a recall within the limit")
	}
	reports := f.adminReports()
	if len(reports) != 2 || !strings.Contains(reports[0], "Automatic recall paused") || !strings.Contains(reports[1], "2 recalled") {
		t.Errorf("reports %q", reports)
	}
	// Paused: further matches are not recalled, and not reported again.
	e, _ := f.sender.Send(ctx(t), group, dingtalk.Text("y {{ .N }}"), recall.SendOptions{})
	f.svc.RecallDue(ctx(t))
	if m, _ := f.srv.Message(e.ProcessQueryKey); m.Recalled || len(f.adminReports()) != 2 {
		t.Error("recalled or re-reported while paused")
	}
	f.clock.Advance(6 * time.Minute)
	if f.svc.Paused() {
		t.Fatal("still paused after PauseFor")
	}
	e, _ = f.sender.Send(ctx(t), group, dingtalk.Text("z {{ .N }}"), recall.SendOptions{})
	f.svc.RecallDue(ctx(t))
	if m, _ := f.srv.Message(e.ProcessQueryKey); !m.Recalled {
		t.Error("not recalled after the breaker reset")
	}
}

func TestReplace(t *testing.T) {
	f := newFixture(t, autorecall.Config{})
	orig, _ := f.sender.Send(ctx(t), group, dingtalk.Text("release at 20:00"), recall.SendOptions{})
	rep, err := f.svc.Replace(ctx(t), orig.ProcessQueryKey, dingtalk.Text("release at 22:00"), "api:ci")
	if err != nil || !rep.OriginalRecalled || rep.Correction.Supersedes != orig.ID {
		t.Fatalf("Replace = %+v, %v", rep, err)
	}
	o, _ := f.led.Get(ctx(t), orig.ID)
	if o.SupersededBy != rep.Correction.ID || o.State != ledger.Recalled {
		t.Errorf("original %+v", o)
	}
	// If the original cannot be recalled the correction stays, and says so.
	old, _ := f.sender.Send(ctx(t), group, dingtalk.Text("old news"), recall.SendOptions{})
	_ = f.srv.AgeMessage(old.ProcessQueryKey, 25*time.Hour)
	rep, err = f.svc.Replace(ctx(t), old.ProcessQueryKey, dingtalk.Text("new news"), "api:ci")
	if err != nil || rep.OriginalRecalled || rep.Recall.Count(recall.TooOld) != 1 {
		t.Errorf("Replace of a too-old message = %+v, %v", rep, err)
	}
	if m, _ := f.srv.Message(rep.Correction.ProcessQueryKey); m.Recalled || m.Text != "new news" {
		t.Error("the correction did not stay")
	}
	if _, err := f.svc.Replace(ctx(t), "nope", dingtalk.Text("x"), "api:ci"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestRetract(t *testing.T) {
	f := newFixture(t, autorecall.Config{})
	e, _ := f.sender.Send(ctx(t), group, dingtalk.Text("wrong numbers"), recall.SendOptions{})
	if _, err := f.svc.Retract(ctx(t), e.ProcessQueryKey, "", "api:billing"); err == nil {
		t.Error("a retraction without a reason was accepted")
	}
	r, err := f.svc.Retract(ctx(t), e.ProcessQueryKey, "the report used last month's data", "api:billing")
	if err != nil || r.Count(recall.Recalled) != 1 {
		t.Fatalf("Retract = %v, %v", r, err)
	}
	a, _ := f.led.Audit(ctx(t), ledger.AuditQuery{Limit: 1})
	if a[0].Action != "retract" || a[0].Note != "the report used last month's data" || a[0].Actor != "api:billing" {
		t.Errorf("audit %+v", a[0])
	}
}

func TestSelfDestructSurvivesARestartAndFiresOnce(t *testing.T) {
	f := newFixture(t, autorecall.Config{})
	if _, err := f.sender.Send(ctx(t), group, dingtalk.Text("x"), recall.SendOptions{ExpiresIn: 25 * time.Hour}); err == nil ||
		!strings.Contains(err.Error(), "recall window") {
		t.Errorf("expiry beyond the window: %v", err)
	}
	e, err := f.sender.Send(ctx(t), group, dingtalk.Text("one-time code 4821"), recall.SendOptions{ExpiresIn: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.svc.RecallDue(ctx(t)); r != nil {
		t.Fatalf("fired early: %s", r.Summary("en"))
	}
	// Restart: a new process opens the same ledger.
	_ = f.led.Close()
	f.open(t, autorecall.Config{})
	f.clock.Advance(31 * time.Second)
	r := f.svc.RecallDue(ctx(t))
	if r == nil || r.Count(recall.Recalled) != 1 {
		t.Fatalf("after the restart: %v", r)
	}
	if m, _ := f.srv.Message(e.ProcessQueryKey); !m.Recalled {
		t.Error("still in the chat")
	}
	if r := f.svc.RecallDue(ctx(t)); r != nil {
		t.Errorf("fired twice: %s", r.Summary("en"))
	}
	if n := len(f.srv.CallsTo(dingtalktest.PathGroupRecall)); n != 1 {
		t.Errorf("%d recall calls, want 1", n)
	}
}

// TestSelfDestructBacksOff: a self-destruct that fails for a reason that
// may pass (DingTalk unavailable) is tried again later, backing off, not on
// every tick, and is not reported; once DingTalk is back it goes through.
func TestSelfDestructBacksOff(t *testing.T) {
	f := newFixture(t, autorecall.Config{})
	e, err := f.sender.Send(ctx(t), group, dingtalk.Text("expires while DingTalk is down"), recall.SendOptions{ExpiresIn: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Fail(dingtalktest.PathGroupRecall, dingtalktest.FaultUnavailable, 1000)
	f.clock.Advance(31 * time.Second)
	r := f.svc.RecallDue(ctx(t))
	if r == nil || r.Count(recall.Failed) != 1 || !r.Items[0].Transient {
		t.Fatalf("first try: %+v", r)
	}
	calls := len(f.srv.CallsTo(dingtalktest.PathGroupRecall))
	for range 3 {
		if r := f.svc.RecallDue(ctx(t)); r != nil {
			t.Fatalf("tried again at once: %s", r.Summary("en"))
		}
	}
	if n := len(f.srv.CallsTo(dingtalktest.PathGroupRecall)); n != calls {
		t.Errorf("%d calls after the backoff began, want %d", n, calls)
	}
	if len(f.adminReports()) != 0 {
		t.Errorf("admins told about a failure that may pass: %v", f.adminReports())
	}
	f.srv.ClearFaults()
	f.clock.Advance(6 * time.Second)
	if r := f.svc.RecallDue(ctx(t)); r == nil || r.Count(recall.Recalled) != 1 {
		t.Fatalf("after DingTalk came back: %v", r)
	}
	if m, _ := f.srv.Message(e.ProcessQueryKey); !m.Recalled {
		t.Error("still in the chat")
	}
}

// TestCaughtSecretIsToBeRotated: a recall hides a secret, it does not
// unshare it: the admins' report of a secret the auto-recall caught says
// to rotate it; a report of another rule's catch does not.
func TestCaughtSecretIsToBeRotated(t *testing.T) {
	f := newFixture(t, autorecall.Config{Locale: "en", Rules: []autorecall.Rule{
		{Name: autorecall.RuleSecrets, Action: autorecall.Recall, Mode: autorecall.Enforce},
		{Name: "templates", Action: autorecall.Recall, Mode: autorecall.Enforce},
	}})
	if _, err := f.sender.Send(ctx(t), group, dingtalk.Text("use AKIAIOSFODNN7EXAMPLE for the bucket"), recall.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	f.svc.RecallDue(ctx(t))
	if _, err := f.sender.Send(ctx(t), group, dingtalk.Text("on call: {{ .Name }}"), recall.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	f.svc.RecallDue(ctx(t))
	reports := f.adminReports()
	if len(reports) != 2 {
		t.Fatalf("reports %q", reports)
	}
	if !strings.Contains(reports[0], "cannot undo what someone already read") || !strings.Contains(reports[0], "rotate it") {
		t.Errorf("the secret's report does not say to rotate it: %q", reports[0])
	}
	if strings.Contains(reports[1], "rotate") {
		t.Errorf("a template's report says to rotate something: %q", reports[1])
	}
}

// TestFindingsInTheReportsLanguage: a Chinese bot's report names what a
// rule found in Chinese, keeping a finding's variable part.
func TestFindingsInTheReportsLanguage(t *testing.T) {
	for _, tc := range []struct{ in, loc, want string }{
		{"an AWS access key id", "zh", "AWS 访问密钥 ID"},
		{"an AWS access key id", "en", "an AWS access key id"},
		{"the pattern of rule internal-hosts", "zh", "规则的匹配模式 internal-hosts"},
		{"the same content sent to this chat 1m0s ago", "zh", "相同内容 1m0s前已发送到本会话"},
		{"something new", "zh", "something new"},
	} {
		if got := recall.FindingIn(tc.in, tc.loc); got != tc.want {
			t.Errorf("FindingIn(%q, %s) = %q, want %q", tc.in, tc.loc, got, tc.want)
		}
	}
}
