package recall_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/onelanguage"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

type fixture struct {
	srv    *dingtalktest.Server
	client *dingtalk.Client
	led    *ledger.Bolt
	sender *recall.Sender
	engine *recall.Engine
}

func newFixture(t testing.TB, opts dingtalktest.Options) *fixture {
	t.Helper()
	if opts.QPS == 0 {
		opts.QPS = -1 // the client's own pacing is tested in the benchmark
	}
	srv, err := dingtalktest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	o := srv.Options()
	client := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode, Timeout: 2 * time.Second, QPS: 1000}, nil)
	led, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = led.Close() })
	log := zap.NewNop()
	return &fixture{srv: srv, client: client, led: led,
		sender: recall.NewSender(led, client, log, recall.SenderConfig{}),
		engine: recall.New(led, client, log, recall.Config{BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxAttempts: 8})}
}

func tctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var (
	private = ledger.Chat{Family: ledger.Private, ConversationID: "cidprivate"}
	group   = ledger.Chat{Family: ledger.Group, ConversationID: "cidgroup"}
)

func (f *fixture) send(t testing.TB, chat ledger.Chat, n int) []ledger.Entry {
	t.Helper()
	_ = f.srv.AddConversation(chat.ConversationID, dingtalktest.Kind(chat.Family), "")
	var out []ledger.Entry
	for i := range n {
		e, err := f.sender.Send(tctx(t), chat, dingtalk.Text(fmt.Sprintf("notice %d to %s", i, chat.Key())), recall.SendOptions{Origin: ledger.OriginAPI, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func recallCalls(f *fixture) []dingtalktest.Call {
	var out []dingtalktest.Call
	for _, c := range f.srv.Calls() {
		if strings.Contains(c.Path, "Recall") || strings.HasSuffix(c.Path, "/recall") {
			out = append(out, c)
		}
	}
	return out
}

func TestFortyFiveKeysGoInCallsOf20_20_5(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	f.send(t, private, 45)
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 45}, Actor: "manager4220"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(recall.Recalled) != 45 || r.Calls != 3 {
		t.Fatalf("receipt: %s, %d calls", r.Summary("en"), r.Calls)
	}
	var sizes []int
	for _, c := range recallCalls(f) {
		var body struct{ ProcessQueryKeys []string }
		_ = json.Unmarshal([]byte(c.Request), &body)
		sizes = append(sizes, len(body.ProcessQueryKeys))
	}
	slices.Sort(sizes)
	if fmt.Sprint(sizes) != "[5 20 20]" {
		t.Errorf("call sizes %v, want 20, 20 and 5", sizes)
	}
	for _, m := range f.srv.BotMessages() {
		if !m.Recalled {
			t.Errorf("message %q still shown", m.Text)
		}
	}
	if r.Summary("en") != "45 recalled" || r.Summary("zh") != "45 条已撤回" {
		t.Errorf("summary %q / %q", r.Summary("en"), r.Summary("zh"))
	}
}

func TestMixedFamiliesAndChats(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	var keys []string
	for _, e := range append(append(f.send(t, private, 3), f.send(t, group, 2)...), f.send(t, ledger.Chat{Family: ledger.OTO, UserID: "alice"}, 2)...) {
		keys = append(keys, e.ProcessQueryKey)
	}
	f.send(t, ledger.Chat{Family: ledger.OTO, UserID: "bob"}, 1)
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Keys: append(keys, "not-a-key-we-sent")}, Actor: "manager4220"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(recall.Recalled) != 7 || r.Count(recall.NotFound) != 1 || r.Calls != 3 {
		t.Errorf("receipt %s, %d calls", r.Summary("en"), r.Calls)
	}
	if c, _ := f.srv.UserConversation("bob"); c.Messages[0].Recalled {
		t.Error("bob's message was recalled though nobody selected it")
	}
}

func TestSameSelectionTwiceRecallsNothingTheSecondTime(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	f.send(t, private, 5)
	req := recall.Request{Selection: recall.Selection{Chat: private, Last: 5}, Actor: "manager4220"}
	if _, err := f.engine.Recall(tctx(t), req); err != nil {
		t.Fatal(err)
	}
	before := len(recallCalls(f))
	// "last 5" now selects nothing not yet recalled.
	r, err := f.engine.Recall(tctx(t), req)
	if err != nil || r.Requested() != 0 || len(recallCalls(f)) != before {
		t.Errorf("second recall: %v, %v, %d new calls", r.Summary("en"), err, len(recallCalls(f))-before)
	}
	if !strings.Contains(r.Summary("en"), "nothing to recall") {
		t.Errorf("summary %q does not say why", r.Summary("en"))
	}
	// By key, the same messages are reported already recalled, not sent again.
	var keys []string
	for _, m := range f.srv.BotMessages() {
		keys = append(keys, m.ProcessQueryKey)
	}
	r, _ = f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Keys: keys}})
	if r.Count(recall.AlreadyRecalled) != 5 || len(recallCalls(f)) != before {
		t.Errorf("by key: %s", r.Summary("en"))
	}
}

func TestTooOldIsReportedWithoutACall(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	now := time.Now()
	eng := recall.New(f.led, f.client, zap.NewNop(), recall.Config{Now: func() time.Time { return now.Add(25 * time.Hour) }})
	f.send(t, private, 2)
	r, err := eng.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 5}})
	if err != nil || r.Count(recall.TooOld) != 2 || len(recallCalls(f)) != 0 {
		t.Fatalf("%s, %v, %d calls", r.Summary("en"), err, len(recallCalls(f)))
	}
	if c, _ := f.led.Counts(tctx(t)); c[ledger.Expired] != 2 {
		t.Errorf("counts %v", c)
	}
	if r.Summary("zh") != "2 条超过 24 小时无法撤回（最近 5 条中只有 2 条有发送记录）" {
		t.Errorf("zh summary %q", r.Summary("zh"))
	}
}

func TestOneTooOldAccordingToDingTalk(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	es := f.send(t, private, 5)
	_ = f.srv.AgeMessage(es[0].ProcessQueryKey, 25*time.Hour) // DingTalk disagrees with our clock
	r, _ := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 5}})
	if got := r.Summary("en"); got != "4 recalled, 1 too old (5 messages)" {
		t.Errorf("summary %q", got)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	es := f.send(t, private, 3)
	f.srv.Fail(dingtalktest.PathPrivateRecall, dingtalktest.FaultQPS, 1)
	f.srv.Fail(dingtalktest.PathPrivateRecall, dingtalktest.FaultServerError, 1)
	f.srv.FailKey(es[1].ProcessQueryKey, "SYSTEM_ERROR", 2)
	f.srv.RevokeTokens() // the token expires mid-run too
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 3}})
	if err != nil || r.Count(recall.Recalled) != 3 {
		t.Fatalf("%s, %v", r.Summary("en"), err)
	}
	// The QPS refusal is retried inside the client, after DingTalk's window;
	// the engine sees a 5xx, two answers with a per-key SYSTEM_ERROR for
	// one key, then the last try for that key alone.
	if r.Calls != 4 {
		t.Errorf("%d calls, want 4", r.Calls)
	}
	if n := len(recallCalls(f)); n != 6 {
		t.Errorf("%d recall requests, want 6 (one refused for the revoked token, one for QPS)", n)
	}
}

func TestPermanentFailuresAreReportedPerKey(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	es := f.send(t, private, 3)
	f.srv.FailKey(es[0].ProcessQueryKey, "NOT_ALLOWED", 1)
	r, _ := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 3}})
	if r.Count(recall.Recalled) != 2 || r.Count(recall.Failed) != 1 || r.With(recall.Failed)[0].Reason != "NOT_ALLOWED" {
		t.Errorf("%s: %+v", r.Summary("en"), r.With(recall.Failed))
	}
	// A failed key can be recalled again later.
	r, _ = f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Keys: []string{es[0].ProcessQueryKey}}})
	if r.Count(recall.Recalled) != 1 {
		t.Errorf("retry of a failed key: %s", r.Summary("en"))
	}
	// A whole-call refusal (the batchRecall error codes) marks every key of the call.
	more := f.send(t, private, 2)
	_ = f.srv.SetRobotState(f.client.RobotCode(), dingtalktest.RobotStopped)
	r, _ = f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Keys: []string{more[0].ProcessQueryKey, more[1].ProcessQueryKey}}})
	if r.Count(recall.Failed) != 2 || r.Items[0].Reason != "bot.stopped" {
		t.Errorf("stopped bot: %s %+v", r.Summary("en"), r.Items)
	}
	if s := dingtalk.Explain(r.Items[0].Reason, "en"); s != "the bot has been disabled" {
		t.Errorf("explained as %q", s)
	}
	e, _ := f.led.Get(tctx(t), more[0].ID)
	if e.State != ledger.RecallFailed || e.Reason != "bot.stopped" {
		t.Errorf("ledger says %s %s", e.State, e.Reason)
	}
}

func TestCancelledBeforeTheCallLeavesMessagesRecallable(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	f.send(t, private, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := f.engine.Recall(ctx, recall.Request{Selection: recall.Selection{Chat: private, Last: 3}})
	if err != nil || r.Count(recall.NotAttempted) != 3 || len(recallCalls(f)) != 0 {
		t.Fatalf("%v %v", r.Summary("en"), err)
	}
	if c, _ := f.led.Counts(tctx(t)); c[ledger.Sent] != 3 || c[ledger.Recalling] != 0 {
		t.Errorf("counts %v: nothing may stay recalling", c)
	}
}

func TestNoAnswerEndsRecallFailedNotRecalling(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	f.send(t, private, 1)
	o := f.srv.Options()
	slow := dingtalk.New(dingtalk.Config{BaseURL: f.srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode, Timeout: 50 * time.Millisecond}, nil)
	eng := recall.New(f.led, slow, zap.NewNop(), recall.Config{MaxAttempts: 2, BackoffBase: time.Millisecond})
	f.srv.Fail(dingtalktest.PathPrivateRecall, dingtalktest.FaultHang, 2)
	r, _ := eng.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 1}})
	if r.Count(recall.Failed) != 1 || !strings.Contains(r.Items[0].Reason, "no answer") {
		t.Errorf("%s %+v", r.Summary("en"), r.Items)
	}
	if c, _ := f.led.Counts(tctx(t)); c[ledger.RecallFailed] != 1 {
		t.Errorf("counts %v", c)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	f.send(t, private, 25)
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 25}, DryRun: true})
	if err != nil || r.Count(recall.WouldRecall) != 25 || r.Calls != 2 || len(recallCalls(f)) != 0 {
		t.Fatalf("%s, %v", r.Summary("en"), err)
	}
	if c, _ := f.led.Counts(tctx(t)); c[ledger.Sent] != 25 {
		t.Errorf("counts %v", c)
	}
	a, _ := f.led.Audit(tctx(t), ledger.AuditQuery{Limit: 1})
	if len(a) != 1 || a[0].Action != "dry_run" {
		t.Errorf("audit %+v", a)
	}
}

func TestBadSelections(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	f.send(t, private, 1)
	for _, tc := range []struct {
		name string
		sel  recall.Selection
	}{
		{"empty", recall.Selection{}},
		{"negative N", recall.Selection{Chat: private, Last: -3}},
		{"absurd N", recall.Selection{Chat: private, Last: 1 << 30}},
		{"last without chat", recall.Selection{Last: 5}},
		{"two at once", recall.Selection{Chat: private, Last: 5, BatchID: "b"}},
		{"empty key", recall.Selection{Keys: []string{" "}}},
		{"unknown batch", recall.Selection{BatchID: "b-nope"}},
	} {
		_, err := f.engine.Recall(tctx(t), recall.Request{Selection: tc.sel})
		if !recall.IsSelectionError(err) {
			t.Errorf("%s: err = %v, want a selection error", tc.name, err)
		}
	}
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: ledger.Chat{Family: ledger.Group, ConversationID: "never-seen"}, Last: 5}})
	if err != nil || r.Requested() != 0 {
		t.Errorf("unknown chat: %v, %v", r, err)
	}
	r, _ = f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Keys: []string{"key-of-another-robot"}}})
	if r.Count(recall.NotFound) != 1 || len(recallCalls(f)) != 0 {
		t.Errorf("foreign key: %s", r.Summary("en"))
	}
}

func TestPendingIsReportedUnknown(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	_, _ = f.led.Append(tctx(t), ledger.Entry{Chat: private, MsgKey: "sampleText", Excerpt: "crashed mid-send"})
	r, _ := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 5}})
	if r.Count(recall.Unknown) != 1 {
		t.Errorf("%s", r.Summary("en"))
	}
}

// TestResumeTakesOverOnlyLapsedClaims: a claim is taken over only when its
// owner's lease has lapsed (or, for a claim without an owner, from an older
// recallbot, when it is stale). A live owner's claim is never taken, however
// long it has been held.
func TestResumeTakesOverOnlyLapsedClaims(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	es := f.send(t, private, 3)
	old := time.Now().Add(-time.Hour)
	claim := func(e ledger.Entry, owner string, ttl time.Duration) {
		t.Helper()
		if c, _, _, err := f.led.Claim(tctx(t), []uint64{e.ID}, ledger.Claimant{Owner: owner, At: old, LeaseTTL: ttl}); err != nil || len(c) != 1 {
			t.Fatalf("claim %d: %v", e.ID, err)
		}
	}
	claim(es[0], "crashed", time.Nanosecond) // its lease is gone
	claim(es[1], "alive", time.Hour)         // an hour into a long recall, still renewing
	claim(es[2], "", 0)                      // an older recallbot's claim, an hour old
	r, err := f.engine.Resume(tctx(t))
	if err != nil || r == nil || r.Count(recall.Recalled) != 2 {
		t.Fatalf("Resume = %v, %v", r, err)
	}
	if e, _ := f.led.Get(tctx(t), es[1].ID); e.State != ledger.Recalling || e.ClaimedBy != "alive" {
		t.Errorf("a live claim was taken over: %s by %s", e.State, e.ClaimedBy)
	}
	for _, e := range []ledger.Entry{es[0], es[2]} {
		if got, _ := f.led.Get(tctx(t), e.ID); got.State != ledger.Recalled || got.ClaimedBy != f.engine.Owner() {
			t.Errorf("entry %d: %s by %s", e.ID, got.State, got.ClaimedBy)
		}
	}
}

func TestSenderLedgersEveryOutcome(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	_ = f.srv.AddConversation("cidprivate", dingtalktest.KindPrivate, "")
	e, err := f.sender.Send(tctx(t), private, dingtalk.Text("hello\nworld"), recall.SendOptions{Origin: ledger.OriginCommand, Actor: "m"})
	if err != nil || e.State != ledger.Sent || e.ProcessQueryKey == "" || e.Excerpt != "hello world" {
		t.Fatalf("sent %+v, %v", e, err)
	}
	e, err = f.sender.Send(tctx(t), ledger.Chat{Family: ledger.Group, ConversationID: "cidnope"}, dingtalk.Text("x"), recall.SendOptions{})
	var ae *dingtalk.APIError
	if !errors.As(err, &ae) || e.State != ledger.SendFailed || e.Reason != "invalid.openConversationId" {
		t.Errorf("refused: %+v, %v", e, err)
	}
	o := f.srv.Options()
	slow := dingtalk.New(dingtalk.Config{BaseURL: f.srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode, Timeout: 50 * time.Millisecond}, nil)
	_, _ = slow.SendGroup(tctx(t), "cidnope", dingtalk.Text("warm the token"))
	f.srv.Fail(dingtalktest.PathPrivateSend, dingtalktest.FaultHang, 1)
	e, err = recall.NewSender(f.led, slow, zap.NewNop(), recall.SenderConfig{}).Send(tctx(t), private, dingtalk.Text("x"), recall.SendOptions{})
	if !errors.Is(err, recall.ErrOutcomeUnknown) || e.State != ledger.Pending {
		t.Errorf("no answer: %+v, %v", e, err)
	}
	if _, err := f.sender.Send(tctx(t), private, dingtalk.Text("x"), recall.SendOptions{ExpiresIn: 25 * time.Hour}); err == nil || !strings.Contains(err.Error(), "recall window") {
		t.Errorf("expiry beyond the window: %v", err)
	}
	if p, _ := f.led.InState(tctx(t), ledger.Pending, 10); len(p) != 1 {
		t.Errorf("pending entries %d, want the one with no answer", len(p))
	}
}

// TestBroadcastPacksUsersAndRecallsTheBatch: oto users go 20 to a call,
// one key each; an invalid user counts failed, a flow-controlled one is
// tried again in a later call; recalling the batch takes one call per 20
// keys and reaches every recipient.
func TestBroadcastPacksUsersAndRecallsTheBatch(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	_ = f.srv.AddConversation(group.ConversationID, dingtalktest.KindGroup, "")
	f.srv.SetInvalidUser("ghost")
	f.srv.FlowControlUser("busy", 1)
	chats := []ledger.Chat{group}
	for i := range 45 {
		chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("user%02d", i)})
	}
	chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: "ghost"}, ledger.Chat{Family: ledger.OTO, UserID: "busy"}, chats[3])
	b := recall.NewBroadcaster(f.led, f.client, zap.NewNop(), recall.BroadcastConfig{RetryAfter: time.Millisecond})
	j, err := b.Start(tctx(t), recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("all hands at 3"), Actor: "api:hr"})
	if err != nil || j.Recipients != 48 || j.Steps != 4 {
		t.Fatalf("Start = %+v, %v", j, err)
	}
	if n := b.RunOnce(tctx(t)); n != 1 {
		t.Fatalf("RunOnce ran %d jobs", n)
	}
	j, _ = b.Status(tctx(t), j.ID)
	if j.State != ledger.JobDone || j.Sent != 47 || j.Failed != 1 || j.Pending() != 0 || j.Calls != 5 {
		t.Errorf("job %+v", j)
	}
	if len(j.Refused) != 1 || j.Refused[0] != (ledger.Refusal{Target: "ghost", Reason: "invalid"}) {
		t.Errorf("refusals by name: %+v", j.Refused)
	}
	if n := len(f.srv.CallsTo(dingtalktest.PathOTOSend)); n != 4 { // 20 + 20 + 7, then busy again
		t.Errorf("%d batchSend calls, want 4", n)
	}
	if c, _ := f.srv.UserConversation("user07"); len(c.Messages) != 1 {
		t.Errorf("user07 got %d messages", len(c.Messages))
	}
	if got, _ := f.led.List(tctx(t), ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: "user33"}}); len(got) != 1 || got[0].Reach() != 20 {
		t.Errorf("user33's chat lists %+v", got)
	}
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{BatchID: j.ID}})
	if err != nil || r.Count(recall.Recalled) != 5 || r.People(recall.Recalled) != 46 || r.Groups(recall.Recalled) != 1 || r.Count(recall.NeverSent) != 0 {
		t.Errorf("batch recall: %s, %v", r.Summary("en"), err)
	}
	if !strings.Contains(r.Summary("en"), "· 1 group and 46 people") { // the group is a group, not a 47th person
		t.Errorf("summary %q does not count people", r.Summary("en"))
	}
	if n := len(f.srv.CallsTo(dingtalktest.PathOTORecall)); n != 1 {
		t.Errorf("%d otoMessages/batchRecall calls for 4 keys, want 1", n)
	}
	for _, m := range f.srv.BotMessages() {
		if !m.Recalled {
			t.Errorf("still shown: %+v", m)
		}
	}
}

func TestPerKeyFailureOutlastingRetriesKeepsItsReason(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	es := f.send(t, private, 2)
	f.srv.FailKey(es[0].ProcessQueryKey, "SYSTEM_ERROR", 100)
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 2}})
	if err != nil || r.Count(recall.Recalled) != 1 || r.Count(recall.Failed) != 1 {
		t.Fatalf("%s, %v", r.Summary("en"), err)
	}
	if it := r.With(recall.Failed)[0]; it.Reason != "SYSTEM_ERROR" {
		t.Errorf("reason %q, want DingTalk's own SYSTEM_ERROR", it.Reason)
	}
	if got := dingtalk.Explain(r.With(recall.Failed)[0].Reason, "en"); got != "a DingTalk system error" {
		t.Errorf("explained as %q", got)
	}
}

func TestOnceMakesARecallOneTime(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	f.send(t, private, 3)
	req := recall.Request{Selection: recall.Selection{Chat: private, Last: 1}, Once: ledger.Once{NS: "cmd", ID: "msg-7", TTL: time.Hour}}
	r, err := f.engine.Recall(tctx(t), req)
	if err != nil || r.Count(recall.Recalled) != 1 {
		t.Fatalf("first: %v, %v", r, err)
	}
	calls := len(recallCalls(f))
	if r, err := f.engine.Recall(tctx(t), req); !errors.Is(err, recall.ErrDuplicate) || r != nil || len(recallCalls(f)) != calls {
		t.Errorf("second: %v, %v, %d new calls", r, err, len(recallCalls(f))-calls)
	}
	// A one-time request with nothing to recall is recorded all the same.
	empty := recall.Request{Selection: recall.Selection{Keys: []string{"unknown-key"}}, Once: ledger.Once{NS: "cmd", ID: "msg-8", TTL: time.Hour}}
	if _, err := f.engine.Recall(tctx(t), empty); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.Recall(tctx(t), empty); !errors.Is(err, recall.ErrDuplicate) {
		t.Errorf("repeated empty request: %v", err)
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		zh, en string
	}{
		{2 * time.Minute, "2 分钟", "2 minutes"},
		{time.Minute, "1 分钟", "1 minute"},
		{30 * time.Second, "30 秒", "30 seconds"},
		{24*time.Hour - time.Minute, "23 小时 59 分", "23 h 59 min"},
		{23*time.Hour + 59*time.Minute + 59*time.Second, "23 小时 59 分", "23 h 59 min"},
		{10 * time.Minute, "10 分钟", "10 minutes"},
		{2 * time.Hour, "2 小时", "2 hours"},
		{30 * 24 * time.Hour, "30 天", "30 days"},
		{25 * time.Hour, "1 天 1 小时", "1 day 1 h"},
	} {
		if got := recall.HumanDuration(tc.d, "zh"); got != tc.zh {
			t.Errorf("HumanDuration(%s, zh) = %q, want %q", tc.d, got, tc.zh)
		}
		if got := recall.HumanDuration(tc.d, "en"); got != tc.en {
			t.Errorf("HumanDuration(%s, en) = %q, want %q", tc.d, got, tc.en)
		}
	}
}

// TestOneMalformedKeyDoesNotFailItsCall: DingTalk refuses a whole recall
// call for one key that is not a key (invalid.processQueryKey). The call
// is split until the bad key is alone: the 19 others are recalled, the bad
// one fails with DingTalk's code, and a key of another entry cannot be
// resolved onto a pending one.
func TestOneMalformedKeyDoesNotFailItsCall(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	f.send(t, private, 19)
	bad, err := f.led.Append(tctx(t), ledger.Entry{Chat: private, MsgKey: "sampleText", Excerpt: "resolved by hand with a typo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.led.Transition(tctx(t), bad.ID, ledger.Transition{To: ledger.Sent, Key: "not a key!"}); err != nil {
		t.Fatal(err)
	}
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(recall.Recalled) != 19 || r.Count(recall.Failed) != 1 {
		t.Fatalf("receipt: %s", r.Summary("en"))
	}
	for _, it := range r.Items {
		if it.Outcome == recall.Failed && (it.Key != "not a key!" || it.Reason != "invalid.processQueryKey") {
			t.Errorf("failed item: %+v", it)
		}
	}
	if r.Calls > 12 {
		t.Errorf("%d calls to find one bad key among 20", r.Calls)
	}

	pending, _ := f.led.Append(tctx(t), ledger.Entry{Chat: private, MsgKey: "sampleText"})
	var taken string
	for _, it := range r.Items {
		if it.Outcome == recall.Recalled {
			taken = it.Key
		}
	}
	_, err = f.sender.Resolve(tctx(t), pending.ID, recall.Resolution{To: ledger.Sent, Key: taken, Actor: "api:ops"})
	if !recall.IsSelectionError(err) || !strings.Contains(err.Error(), "already belongs") {
		t.Errorf("resolving onto another entry's key: %v", err)
	}
	if _, err := f.sender.Resolve(tctx(t), pending.ID, recall.Resolution{To: ledger.Sent, Key: "two words", Actor: "api:ops"}); !recall.IsSelectionError(err) {
		t.Errorf("resolving with a malformed key: %v", err)
	}
}

// TestRecalledElsewhereIsRecordedRecalled: a message recalled by another
// hand (an admin console, another tool) is gone from the chat: DingTalk
// answers "already recalled", and the ledger says recalled, not failed.
func TestRecalledElsewhereIsRecordedRecalled(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	es := f.send(t, private, 2)
	if _, err := f.client.RecallPrivate(tctx(t), private.ConversationID, []string{es[0].ProcessQueryKey}); err != nil {
		t.Fatal(err)
	}
	r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{Chat: private, Last: 2}})
	if err != nil || r.Count(recall.Recalled) != 1 || r.Count(recall.AlreadyRecalled) != 1 {
		t.Fatalf("%s, %v", r.Summary("en"), err)
	}
	if e, _ := f.led.Get(tctx(t), es[0].ID); e.State != ledger.Recalled {
		t.Errorf("recalled elsewhere, the ledger says %s (%s)", e.State, e.Reason)
	}
}

// TestReadsBeforeTheRecall: the operator's question after a wrong
// broadcast, "who saw it before it was taken back?": asked per message
// (one query call each), put on the receipt, counted in its summary.
func TestReadsBeforeTheRecall(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	var chats []ledger.Chat
	for i := range 20 {
		chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("u%02d", i)})
	}
	b := recall.NewBroadcaster(f.led, f.client, zap.NewNop(), recall.BroadcastConfig{})
	j, err := b.Start(tctx(t), recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("wrong numbers"), Actor: "api:finance"})
	if err != nil {
		t.Fatal(err)
	}
	b.RunOnce(tctx(t))
	es := f.send(t, group, 1)
	batch, _ := f.led.Batch(tctx(t), j.ID)
	for i := range 7 {
		if err := f.srv.MarkRead(batch[0].ProcessQueryKey, fmt.Sprintf("u%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.srv.MarkRead(es[0].ProcessQueryKey, "alice")
	plan, err := f.engine.Plan(tctx(t), recall.Selection{Keys: []string{batch[0].ProcessQueryKey, es[0].ProcessQueryKey}})
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.srv.Calls())
	if err := f.engine.AddReads(tctx(t), plan); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Calls()) - before; n != 2 {
		t.Errorf("%d query calls for 2 messages", n)
	}
	words := map[string]string{}
	for _, it := range plan.Items {
		if it.Reads == nil {
			t.Fatalf("no reads on %+v", it)
		}
		words[string(it.Entry.Chat.Family)] = it.Reads.Words("en")
	}
	if words["oto"] != "7 of 20 had read it" || words["group"] != "1 had read it" {
		t.Errorf("reads: %v", words)
	}
	r, err := f.engine.Execute(tctx(t), recall.Request{Selection: recall.Selection{Keys: []string{batch[0].ProcessQueryKey, es[0].ProcessQueryKey}}}, plan)
	if err != nil || r.Summary("en") != "2 recalled · 1 group and 20 people in chats of their own · 8 reads before the recall" {
		t.Errorf("receipt: %q, %v", r.Summary("en"), err)
	}
	if calls, took := recall.ReadCost(5000, 20); calls != 5000 || took < 250*time.Second {
		t.Errorf("cost of 5,000: %d calls, %v", calls, took)
	}
}

// TestResolveRefusalSpeaksChinese: the ledger's refusal of a resolve (the
// key belongs to another entry, or a race changed the entry first) comes
// in both languages, its Chinese without the ledger's English.
func TestResolveRefusalSpeaksChinese(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	es := f.send(t, private, 1)
	pending, _ := f.led.Append(tctx(t), ledger.Entry{Chat: private, MsgKey: "sampleText"})
	_, err := f.sender.Resolve(tctx(t), pending.ID, recall.Resolution{To: ledger.Sent, Key: es[0].ProcessQueryKey, Actor: "api:ops"})
	var se *recall.SelectionError
	if !errors.As(err, &se) {
		t.Fatalf("resolving onto another entry's key: %v", err)
	}
	if zh := se.In("zh"); onelanguage.EnglishRun(zh) != "" || !strings.Contains(zh, fmt.Sprint(es[0].ID)) {
		t.Errorf("the Chinese refusal is %q", zh)
	}
	if en := se.In("en"); !strings.Contains(en, "already belongs") {
		t.Errorf("the English refusal is %q", en)
	}
}
