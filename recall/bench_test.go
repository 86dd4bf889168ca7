package recall_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// BenchmarkRecallAtAPICeiling recalls 10,000 messages spread over 500
// one-to-one (private) chats while the emulator enforces DingTalk's 20
// calls/s. 500 calls at 20/s bound it at 25 s; the metrics report the time
// taken as a ratio of that ceiling and the 403 answers the bot's own pacing
// caused (target: ratio <= 1.05, no 403s).
func BenchmarkRecallAtAPICeiling(b *testing.B) {
	const chats, per, qps = 500, 20, 20
	for range b.N {
		b.StopTimer()
		f := newFixture(b, dingtalktest.Options{QPS: -1})
		for c := range chats {
			_ = f.srv.AddConversation(fmt.Sprintf("cid%03d", c), dingtalktest.KindPrivate, "")
		}
		batch := recall.NewBatchID(time.Now())
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1) - 1; i < chats*per; i = next.Add(1) - 1 {
					ch := ledger.Chat{Family: ledger.Private, ConversationID: fmt.Sprintf("cid%03d", i%chats)}
					if _, err := f.sender.Send(context.Background(), ch, dingtalk.Text("maintenance tonight"), recall.SendOptions{BatchID: batch}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		f.srv.SetQPS(qps)
		f.srv.ResetCalls()
		o := f.srv.Options()
		paced := dingtalk.New(dingtalk.Config{BaseURL: f.srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode, QPS: qps}, nil)
		eng := recall.New(f.led, paced, zap.NewNop(), recall.Config{})
		b.StartTimer()
		start := time.Now()
		r, err := eng.Recall(context.Background(), recall.Request{Selection: recall.Selection{BatchID: batch}})
		took := time.Since(start)
		b.StopTimer()
		if err != nil || r.Count(recall.Recalled) != chats*per {
			b.Fatalf("%v: %s", err, r.Summary("en"))
		}
		refused := 0
		for _, c := range f.srv.Calls() {
			if c.Status == 403 {
				refused++
			}
		}
		ceiling := time.Duration(chats) * time.Second / qps
		b.ReportMetric(took.Seconds(), "s")
		b.ReportMetric(took.Seconds()/ceiling.Seconds(), "x-ceiling")
		b.ReportMetric(float64(refused), "403s")
		b.StartTimer()
	}
}
