package recall_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// wanTestRTT is DingTalk 300 ms away, each way varying by ±20 ms: at
// its limit of 20 calls a second, Little's law puts 6 calls in flight.
const (
	wanTestRTT    = 300 * time.Millisecond
	wanTestJitter = 20 * time.Millisecond
)

// goWAN puts the fixture's emulator 300 ms away at DingTalk's limit (20/s
// over any sliding second) and returns a client paced for it.
func goWAN(f *fixture) *dingtalk.Client {
	f.srv.SetQPS(20)
	f.srv.SetLatency(wanTestRTT, wanTestJitter)
	f.srv.ResetCalls()
	o := f.srv.Options()
	return dingtalk.New(dingtalk.Config{BaseURL: f.srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode, QPS: 20}, nil)
}

// checkWAN holds a job over the WAN to what it promises: no refusal, and
// at least 6 calls in flight at once as the emulator counts them (a fixed
// 4 capped a job at 4 ÷ 0.3 s, 13 calls a second, 0.67 of the limit).
func checkWAN(t *testing.T, f *fixture, path string) {
	t.Helper()
	refused := 0
	for _, c := range f.srv.CallsTo(path) {
		if c.Status == 403 {
			refused++
		}
	}
	if refused > 0 {
		t.Errorf("DingTalk refused %d calls for its rate limit", refused)
	}
	if got := f.srv.MaxInFlight(); got < 6 {
		t.Errorf("at most %d calls in flight at 20/s with a 300 ms round trip, want at least 6", got)
	}
}

// TestRecallKeepsThePaceBusyOverALongRoundTrip: a recall of 60 calls with
// DingTalk 300 ms away keeps enough calls in flight to use the limit.
func TestRecallKeepsThePaceBusyOverALongRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("60 calls at 20/s over a simulated WAN (~3 s)")
	}
	f := newFixture(t, dingtalktest.Options{SlidingWindow: true})
	batch := recall.NewBatchID(time.Now())
	for i := range 60 {
		chat := ledger.Chat{Family: ledger.Private, ConversationID: fmt.Sprintf("cidwan%02d", i)}
		_ = f.srv.AddConversation(chat.ConversationID, dingtalktest.KindPrivate, "")
		if _, err := f.sender.Send(tctx(t), chat, dingtalk.Text("maintenance tonight"), recall.SendOptions{BatchID: batch}); err != nil {
			t.Fatal(err)
		}
	}
	eng := recall.New(f.led, goWAN(f), zap.NewNop(), recall.Config{})
	r, err := eng.Recall(tctx(t), recall.Request{Selection: recall.Selection{BatchID: batch}, Actor: "test"})
	if err != nil || r.Count(recall.Recalled) != 60 {
		t.Fatalf("%v: %s", err, r.Summary("en"))
	}
	checkWAN(t, f, dingtalktest.PathPrivateRecall)
}

// TestBroadcastKeepsThePaceBusyOverALongRoundTrip: a broadcast of 60
// calls (1,200 users) with DingTalk 300 ms away does the same.
func TestBroadcastKeepsThePaceBusyOverALongRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("60 calls at 20/s over a simulated WAN (~3 s)")
	}
	f := newFixture(t, dingtalktest.Options{SlidingWindow: true})
	client := goWAN(f)
	bc := recall.NewBroadcaster(f.led, client, zap.NewNop(), recall.BroadcastConfig{})
	chats := make([]ledger.Chat, 60*dingtalk.MaxRecipients)
	for i := range chats {
		chats[i] = ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("user%04d", i)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := bc.Start(ctx, recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("all hands at 15:00"), Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if n := bc.RunOnce(ctx); n != 1 {
		t.Fatalf("RunOnce ran %d jobs", n)
	}
	if job, err = bc.Status(ctx, job.ID); err != nil || job.State != ledger.JobDone || job.Sent != len(chats) {
		t.Fatalf("job %+v, %v", job, err)
	}
	checkWAN(t, f, dingtalktest.PathOTOSend)
}
