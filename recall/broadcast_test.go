package recall_test

import (
	"context"
	"fmt"
	"github.com/recallbot/recallbot/internal/watch"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/onelanguage"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
	"github.com/recallbot/recallbot/recall"
)

// startLog is a transport that notes when each send request starts to be
// written: after the client's token, its turn in the pace and its guard.
type startLog struct {
	mu     sync.Mutex
	starts []time.Time
}

func (s *startLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == dingtalktest.PathOTOSend {
		s.mu.Lock()
		s.starts = append(s.starts, time.Now())
		s.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// after is how many send requests started after t, and in all.
func (s *startLog) after(t time.Time) (n, all int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.starts {
		if at.After(t) {
			n++
		}
	}
	return n, len(s.starts)
}

// pacedClient is a client of f's emulator paced at qps, over hc.
func (f *fixture) pacedClient(qps float64, hc *http.Client) *dingtalk.Client {
	o := f.srv.Options()
	return dingtalk.New(dingtalk.Config{BaseURL: f.srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode, Timeout: 5 * time.Second, QPS: qps}, hc)
}

func otoUsers(prefix string, n int) []ledger.Chat {
	out := make([]ledger.Chat, n)
	for i := range out {
		out[i] = ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("%s%03d", prefix, i)}
	}
	return out
}

// shown is how many of the bot's messages a user still sees.
func shown(srv *dingtalktest.Server) int {
	n := 0
	for _, m := range srv.BotMessages() {
		if !m.Recalled {
			n++
		}
	}
	return n
}

// runJob runs b's jobs in the background; the returned func waits for it.
func runJob(ctx context.Context, b *recall.Broadcaster) (wait func()) {
	done := make(chan struct{})
	go func() { defer close(done); b.RunOnce(ctx) }()
	return func() { <-done }
}

// TestCancelStopsEveryCallNotYetOnTheWire: calls waiting for their turn in
// the pace when a broadcast is cancelled are never made; the cancel's
// answer counts every call made (the ones on the wire named in flight),
// the people it will not send to are cancelled, and the audit record of
// the cancel is brought up to date when the calls in flight land.
func TestCancelStopsEveryCallNotYetOnTheWire(t *testing.T) {
	f := newFixture(t, dingtalktest.Options{})
	log := &startLog{}
	client := f.pacedClient(4, &http.Client{Transport: log}) // a slot every quarter second: the workers queue for it
	b := recall.NewBroadcaster(f.led, client, zap.NewNop(), recall.BroadcastConfig{})
	j, err := b.Start(tctx(t), recall.BroadcastRequest{Chats: otoUsers("c", 200), Message: dingtalk.Text("wrong list"), Actor: "api:hr"})
	if err != nil {
		t.Fatal(err)
	}
	wait := runJob(tctx(t), b)
	if err := f.srv.WaitUntil(tctx(t), func() bool { return f.srv.CountCalls(dingtalktest.PathOTOSend) >= 2 }); err != nil {
		t.Fatal(err)
	}
	answer, cancelled, err := b.Cancel(tctx(t), j.ID, "api:ops")
	answered := time.Now()
	if err != nil || !cancelled || answer.State != ledger.JobCancelled {
		t.Fatalf("Cancel = %+v, %v, %v", answer, cancelled, err)
	}
	wait()
	late, all := log.after(answered)
	if all != answer.Calls || late > len(answer.InFlight()) {
		t.Errorf("%d calls made (%d after the answer); the answer counted %d, %d of them in flight", all, late, answer.Calls, len(answer.InFlight()))
	}
	if answer.Sent+answer.Cancelled+ledger.People(answer.InFlight()) != 200 {
		t.Errorf("the answer: sent %d, cancelled %d, in flight %d: not all 200 accounted for", answer.Sent, answer.Cancelled, ledger.People(answer.InFlight()))
	}
	final, _ := b.Status(tctx(t), j.ID)
	if final.Sent != 20*all || final.Cancelled != 200-20*all || final.Pending() != 0 || len(final.Open) != 0 {
		t.Errorf("after the calls in flight landed: sent %d, cancelled %d, pending %d, open %+v; %d calls made", final.Sent, final.Cancelled, final.Pending(), final.Open, all)
	}
	if es, _ := f.led.Batch(tctx(t), j.ID); countState(es, ledger.Pending) != 0 || countState(es, ledger.Sent) != all {
		t.Errorf("entries: %d pending, %d sent of %d calls", countState(es, ledger.Pending), countState(es, ledger.Sent), all)
	}
	recs, _ := f.led.Audit(tctx(t), ledger.AuditQuery{Limit: 5})
	want := fmt.Sprintf("%d of 200 recipients reached, 0 refused, %d not sent (cancelled)", final.Sent, final.Cancelled)
	if len(recs) == 0 || recs[0].Action != "broadcast.cancel" || recs[0].Actor != "api:ops" || note(recs[0]) != want {
		t.Errorf("the cancel's audit record %+v, want the note %q", recs, want)
	}
}

func countState(es []ledger.Entry, s ledger.State) int {
	n := 0
	for _, e := range es {
		if e.State == s {
			n++
		}
	}
	return n
}

// TestRecallOfARunningBroadcastStopsItAndTakesBackItsCallsInFlight: a
// recall of a batch while its broadcast is sending stops the broadcast
// first (no call starts afterwards), recalls what it sent, waits for the
// calls that were on the wire and recalls what they sent too: no copy is
// left, and no message is reported unknown for an answer that was merely
// late.
func TestRecallOfARunningBroadcastStopsItAndTakesBackItsCallsInFlight(t *testing.T) {
	for _, users := range []int{300, 20} { // 20: the recall comes as the last (only) call goes out
		t.Run(fmt.Sprint(users), func(t *testing.T) {
			f := newFixture(t, dingtalktest.Options{})
			log := &startLog{}
			b := recall.NewBroadcaster(f.led, f.pacedClient(1000, &http.Client{Transport: log}), zap.NewNop(), recall.BroadcastConfig{Concurrency: 4}) // four on the wire, whatever the round trip suggests
			f.srv.Delay(dingtalktest.PathOTOSend, 300*time.Millisecond, 100)                                                                           // DingTalk far away: four calls always on the wire
			j, err := b.Start(tctx(t), recall.BroadcastRequest{Chats: otoUsers("r", users), Message: dingtalk.Text("wrong notice"), Actor: "api:hr"})
			if err != nil {
				t.Fatal(err)
			}
			wait := runJob(tctx(t), b)
			inFlight := min(4, users/20)
			if err := f.srv.WaitUntil(tctx(t), func() bool { // the sends themselves on the wire, not the token's call
				st, _ := b.Status(tctx(t), j.ID)
				return len(st.InFlight()) == inFlight && f.srv.InFlight() == inFlight && f.srv.CountCalls(dingtalktest.PathOTOSend) >= min(4, users/20-1)
			}); err != nil {
				t.Fatal(err)
			}
			r, err := f.engine.Recall(tctx(t), recall.Request{Selection: recall.Selection{BatchID: j.ID}, Actor: "api:ops"})
			returned := time.Now()
			if err != nil {
				t.Fatal(err)
			}
			wait()
			if n := shown(f.srv); n != 0 {
				t.Errorf("%d copies still shown after the recall: %s", n, r.Summary("en"))
			}
			if r.Count(recall.Unknown) != 0 || r.Count(recall.Recalled)+r.Count(recall.NeverSent) != r.Requested() {
				t.Errorf("receipt %s", r.Summary("en"))
			}
			for _, it := range r.With(recall.NeverSent) { // a step written ahead that the stop kept from its call
				if it.Reason != ledger.ReasonCancelled {
					t.Errorf("never sent: %+v", it)
				}
			}
			final, _ := b.Status(tctx(t), j.ID)
			if late, all := log.after(returned); late != 0 || all != final.Calls {
				t.Errorf("%d calls made after the recall answered; %d in all, the job counts %d", late, all, final.Calls)
			}
			if r.Broadcast == nil || !r.Broadcast.Stopped || r.Broadcast.InFlight != inFlight || r.Broadcast.NotSent != users-final.Sent {
				t.Errorf("the receipt's broadcast: %+v; job %+v", r.Broadcast, final)
			}
			if final.State != ledger.JobCancelled || final.Pending() != 0 || r.People(recall.Recalled) != final.Sent {
				t.Errorf("job %s: sent %d, cancelled %d, pending %d; receipt %s", final.State, final.Sent, final.Cancelled, final.Pending(), r.Summary("en"))
			}
			if !strings.Contains(r.Summary("en"), "the broadcast was stopped first") {
				t.Errorf("the receipt does not say the broadcast was stopped: %s", r.Summary("en"))
			}
			checkStopAudited(t, f.led, r.AuditID)
		})
	}
}

// TestAnotherInstanceSendsWhatAStoppedOneLeftPlanned: an instance stopped
// dead while four calls are on the wire and a fifth step waits for a
// worker: the other instance sharing the Redis ledger takes the job over,
// sends the fifth step and the rest, and leaves in doubt only the four
// calls DingTalk got (never sent twice).
func TestAnotherInstanceSendsWhatAStoppedOneLeftPlanned(t *testing.T) {
	r := ledgertest.Shared(t)
	f := newFixture(t, dingtalktest.Options{})
	prefix := fmt.Sprintf("takeover:%d:", time.Now().UnixNano()) // both instances share it; each run has its own
	open := func() *ledger.Redis {
		led, err := ledger.OpenRedis(tctx(t), r.URL, ledger.RedisOptions{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = led.Close() })
		return led
	}
	ledA, ledB := open(), open()
	cfg := recall.BroadcastConfig{LeaseTTL: 600 * time.Millisecond, Concurrency: 4}
	cfg.Owner = "a"
	a := recall.NewBroadcaster(ledA, f.client, zap.NewNop(), cfg)
	cfg.Owner = "b"
	b := recall.NewBroadcaster(ledB, f.client, zap.NewNop(), cfg)
	users := otoUsers("t", 200)
	f.srv.Delay(dingtalktest.PathOTOSend, 2*time.Second, 4)
	j, err := a.Start(tctx(t), recall.BroadcastRequest{Chats: users, Message: dingtalk.Text("half sent"), Actor: "api:hr"})
	if err != nil {
		t.Fatal(err)
	}
	ctxA, killA := context.WithCancel(tctx(t))
	waitA := runJob(ctxA, a)
	if err := f.srv.WaitUntil(tctx(t), func() bool { return f.srv.InFlight() == 4 }); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(tctx(t), func() bool { p, _ := ledB.InState(tctx(t), ledger.Pending, 10); return len(p) == 5 }); err != nil {
		t.Fatal("the fifth step was never written ahead")
	}
	_ = ledA.Close() // a is gone: nothing more of it reaches the ledger
	killA()
	waitA()
	if err := f.srv.WaitUntil(tctx(t), func() bool { return f.srv.InFlight() == 0 }); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(tctx(t), func() bool { return b.RunOnce(tctx(t)) == 1 }); err != nil { // once a's lease lapsed
		t.Fatal(err)
	}
	j, _ = b.Status(tctx(t), j.ID)
	twice, never := 0, 0
	for _, u := range users {
		c, _ := f.srv.UserConversation(u.UserID)
		switch len(c.Messages) {
		case 0:
			never++
		case 1:
		default:
			twice++
		}
	}
	pending, _ := ledB.InState(tctx(t), ledger.Pending, 10)
	if never != 0 || twice != 0 || j.State != ledger.JobDone || j.Sent != 120 || j.Pending() != 80 || len(pending) != 4 {
		t.Errorf("%d never got it, %d twice; job %s sent %d pending %d; %d pending entries", never, twice, j.State, j.Sent, j.Pending(), len(pending))
	}
}

// waitFor polls a condition nothing signals, until ctx ends (watch.Until).
var waitFor = watch.Until

// TestRecallFromAnotherInstanceStopsTheBroadcast: with two instances on one
// Redis ledger, a recall of a batch made on the one that does not run its
// broadcast stops it all the same (the runner checks the job in the ledger
// before each call), and takes back what it sent, the calls on the wire
// included.
func TestRecallFromAnotherInstanceStopsTheBroadcast(t *testing.T) {
	r := ledgertest.Shared(t)
	f := newFixture(t, dingtalktest.Options{})
	prefix := fmt.Sprintf("cross:%d:", time.Now().UnixNano()) // both instances share it; each run has its own
	open := func() *ledger.Redis {
		led, err := ledger.OpenRedis(tctx(t), r.URL, ledger.RedisOptions{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = led.Close() })
		return led
	}
	ledA, ledB := open(), open()
	log := &startLog{}
	a := recall.NewBroadcaster(ledA, f.pacedClient(1000, &http.Client{Transport: log}), zap.NewNop(), recall.BroadcastConfig{Owner: "a", Concurrency: 4})
	engB := recall.New(ledB, f.client, zap.NewNop(), recall.Config{Owner: "b"})
	f.srv.Delay(dingtalktest.PathOTOSend, 300*time.Millisecond, 100)
	j, err := a.Start(tctx(t), recall.BroadcastRequest{Chats: otoUsers("x", 300), Message: dingtalk.Text("wrong notice"), Actor: "api:hr"})
	if err != nil {
		t.Fatal(err)
	}
	wait := runJob(tctx(t), a)
	if err := f.srv.WaitUntil(tctx(t), func() bool {
		return f.srv.InFlight() == 4 && f.srv.CountCalls(dingtalktest.PathOTOSend) >= 4
	}); err != nil {
		t.Fatal(err)
	}
	rec, err := engB.Recall(tctx(t), recall.Request{Selection: recall.Selection{BatchID: j.ID}, Actor: "api:ops"})
	returned := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	wait()
	final, _ := a.Status(tctx(t), j.ID)
	if late, all := log.after(returned); late != 0 || all != final.Calls {
		t.Errorf("%d calls after the recall on the other instance answered; %d in all, the job counts %d", late, all, final.Calls)
	}
	if n := shown(f.srv); n != 0 || rec.Count(recall.Unknown) != 0 || final.State != ledger.JobCancelled || final.Pending() != 0 {
		t.Errorf("%d copies shown; receipt %s; job %s pending %d", n, rec.Summary("en"), final.State, final.Pending())
	}
}

// note is an audit record's note in English words, as it is shown.
func note(r ledger.AuditRecord) string {
	_, n := recall.AuditWords(r, "en", nil)
	return n
}

// checkStopAudited: the audit record of a recall that stopped a broadcast
// keeps what it stopped as facts, so a Chinese reader and an English one
// of the same record each read it in their language only.
func checkStopAudited(t *testing.T, led *ledger.Bolt, id uint64) {
	t.Helper()
	recs, err := led.Audit(tctx(t), ledger.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.ID != id {
			continue
		}
		_, zh := recall.AuditWords(rec, "zh", nil)
		_, en := recall.AuditWords(rec, "en", nil)
		if !strings.Contains(zh, "已先停止群发") || onelanguage.EnglishRun(zh) != "" {
			t.Errorf("the record %q reads in Chinese: %s", rec.Note, zh)
		}
		if !strings.Contains(en, "the broadcast was stopped first") || strings.ContainsFunc(en, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("the record %q reads in English: %s", rec.Note, en)
		}
		return
	}
	t.Errorf("no audit record %d", id)
}
