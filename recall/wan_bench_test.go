package recall_test

import (
	"context"
	"fmt"
	"path/filepath"
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

// The WAN benchmarks run a job at DingTalk's own limit (wanQPS calls a
// second per app and API, over any sliding second) with DingTalk a round
// trip away, each way varying by ±wanJitter: 200 calls, so the ceiling is
// 10 s. With a spread S on the way there (2 × wanJitter, less where half
// the round trip is shorter than the jitter), two calls sent a second apart
// can arrive S apart less than a second: no client can use more than
// 1 s ÷ (1 s + S) of the quota without a refusal. Each reports its time,
// its ratio to the ceiling, the refusals and the most calls the emulator
// had in flight.
const (
	wanQPS    = 20
	wanCalls  = 200
	wanJitter = 20 * time.Millisecond
)

// wanRTTs are the round trips the WAN benchmarks run at.
var wanRTTs = []time.Duration{30 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond}

// wanSpread is S, how much the way there varies: each half of rtt is
// rtt/2 ± jitter, never below zero.
func wanSpread(rtt, jitter time.Duration) time.Duration {
	return min(rtt/2, jitter) + jitter
}

// reportWAN reports one WAN job's figures, and the margin its client
// learnt for path: its time (from start), and when its first and last
// calls took effect.
func reportWAN(b *testing.B, srv *dingtalktest.Server, client *dingtalk.Client, path string, rtt time.Duration, start time.Time, took time.Duration) {
	refused := 0
	calls := srv.CallsTo(path)
	for _, c := range calls {
		if c.Status == 403 {
			refused++
		}
	}
	if len(calls) > 0 {
		b.ReportMetric(float64(calls[0].Time.Sub(start).Milliseconds()), "first-call-ms")
		b.ReportMetric(calls[len(calls)-1].Time.Sub(start).Seconds(), "last-call-s")
	}
	ceiling := float64(wanCalls) / wanQPS
	b.ReportMetric(took.Seconds(), "s")
	b.ReportMetric(took.Seconds()/ceiling, "x-ceiling")
	b.ReportMetric(float64(refused), "403s")
	b.ReportMetric(float64(srv.MaxInFlight()), "max-in-flight")
	b.ReportMetric(float64(srv.CountCalls(path)-refused), "calls")
	b.ReportMetric(wanQPS, "limit-qps")
	b.ReportMetric(float64(rtt.Milliseconds()), "rtt-ms")
	b.ReportMetric(float64(wanJitter.Milliseconds()), "jitter-ms")
	b.ReportMetric(float64(client.PaceMargin(path).Microseconds())/1000, "margin-ms")
	b.ReportMetric(float64(wanSpread(rtt, wanJitter).Milliseconds()), "spread-ms")
}

// wanClient is a client paced for wanQPS against srv, its access token
// fetched and one call made (as a running bot has), outside the figures:
// to another API than the job's, whose window starts empty, as its
// ceiling assumes.
func wanClient(b *testing.B, srv *dingtalktest.Server, warm func(*dingtalk.Client) error) *dingtalk.Client {
	o := srv.Options()
	c := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode,
		CoolAppCode: o.CoolAppCode, QPS: wanQPS}, nil)
	if err := warm(c); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkWANRecall recalls 4,000 keys in 200 private chats (200 calls
// of 20 keys) at DingTalk's 20/s, with DingTalk each round trip of wanRTTs
// away.
func BenchmarkWANRecall(b *testing.B) {
	for _, rtt := range wanRTTs {
		b.Run(fmt.Sprintf("rtt=%s", rtt), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				f := newFixture(b, dingtalktest.Options{QPS: -1, SlidingWindow: true})
				batch := recall.NewBatchID(time.Now())
				for c := range wanCalls {
					_ = f.srv.AddConversation(fmt.Sprintf("cid%03d", c), dingtalktest.KindPrivate, "")
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				for range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := next.Add(1) - 1; i < wanCalls*dingtalk.MaxRecallKeys; i = next.Add(1) - 1 {
							ch := ledger.Chat{Family: ledger.Private, ConversationID: fmt.Sprintf("cid%03d", i%wanCalls)}
							if _, err := f.sender.Send(context.Background(), ch, dingtalk.Text("maintenance tonight"), recall.SendOptions{BatchID: batch}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				f.srv.SetQPS(wanQPS)
				f.srv.SetLatency(rtt, wanJitter)
				client := wanClient(b, f.srv, func(c *dingtalk.Client) error {
					_, err := c.RecallOTO(context.Background(), []string{"warmup"})
					return err
				})
				eng := recall.New(f.led, client, zap.NewNop(), recall.Config{})
				f.srv.ResetCalls()
				b.StartTimer()
				start := time.Now()
				r, err := eng.Recall(context.Background(), recall.Request{Selection: recall.Selection{BatchID: batch}})
				took := time.Since(start)
				b.StopTimer()
				if err != nil || r.Count(recall.Recalled) != wanCalls*dingtalk.MaxRecallKeys {
					b.Fatalf("%v: %s", err, r.Summary("en"))
				}
				reportWAN(b, f.srv, client, dingtalktest.PathPrivateRecall, rtt, start, took)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkWANBroadcast broadcasts to 4,000 one-to-one users (200 calls of
// 20) at DingTalk's 20/s, with DingTalk each round trip of wanRTTs away.
func BenchmarkWANBroadcast(b *testing.B) {
	for _, rtt := range wanRTTs {
		b.Run(fmt.Sprintf("rtt=%s", rtt), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: wanQPS, SlidingWindow: true, Latency: rtt, Jitter: wanJitter})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = srv.Close() })
				led, err := ledger.Open(filepath.Join(b.TempDir(), "ledger.db"), ledger.BoltOptions{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = led.Close() })
				_ = srv.AddConversation("cidwarmup", dingtalktest.KindGroup, "")
				client := wanClient(b, srv, func(c *dingtalk.Client) error {
					_, err := c.SendGroup(context.Background(), "cidwarmup", dingtalk.Text("token"))
					return err
				})
				bc := recall.NewBroadcaster(led, client, zap.NewNop(), recall.BroadcastConfig{})
				chats := make([]ledger.Chat, wanCalls*dingtalk.MaxRecipients)
				for i := range chats {
					chats[i] = ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("user%05d", i)}
				}
				srv.ResetCalls()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				b.StartTimer()
				start := time.Now()
				job, err := bc.Start(ctx, recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("maintenance tonight, 22:00-23:00"), Actor: "api:bench"})
				if err != nil {
					b.Fatal(err)
				}
				if n := bc.RunOnce(ctx); n != 1 {
					b.Fatalf("RunOnce ran %d jobs", n)
				}
				took := time.Since(start)
				b.StopTimer()
				cancel()
				if job, err = bc.Status(context.Background(), job.ID); err != nil || job.State != ledger.JobDone || job.Sent != len(chats) || job.Calls != wanCalls {
					b.Fatalf("job %+v, %v", job, err)
				}
				reportWAN(b, srv, client, dingtalktest.PathOTOSend, rtt, start, took)
				b.StartTimer()
			}
		})
	}
}
