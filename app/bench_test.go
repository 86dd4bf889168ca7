package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger/ledgertest"
	"github.com/recallbot/recallbot/ledger/synthetic"
)

// benchLedger copies the shared 1M-entry benchmark ledger (building it on
// first use) into dir: the bot writes to it.
func benchLedger(b *testing.B, dir string) string {
	src := synthetic.BigLedger(b)
	dst := filepath.Join(dir, "ledger.db")
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	// Flush the copy now: its writeback would otherwise compete with the
	// bot's fsyncs while they are being measured.
	if err := out.Sync(); err != nil {
		b.Fatal(err)
	}
	_ = out.Close()
	return dst
}

// benchBot runs the bot on ledgerPath against a new emulator whose limit is
// on: qps calls/s per app and API over any sliding second, the stricter
// of the emulator's two windows. The bot's client is paced for that limit
// (dingtalk.qps), as a bot configured for its app is.
func benchBot(b *testing.B, ledgerPath string, qps int, tune ...func(*config.Config)) (*dingtalktest.Server, *app.App) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: qps, SlidingWindow: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	cfg := emulatorConfig(srv, float64(qps))
	cfg.Admins = []string{admin}
	cfg.Ledger.Path = ledgerPath
	cfg.HTTP.Listen = ""
	for _, f := range tune {
		f(&cfg)
	}
	log, _ := app.NewLogger(config.Log{Level: "error", Format: "json"}, io.Discard, nil)
	bot := app.New(cfg, log, app.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := bot.Open(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = bot.Close(ctx)
	})
	if err := srv.WaitUntil(ctx, func() bool { return len(srv.Connections()) == 1 }); err != nil {
		b.Fatal(err)
	}
	return srv, bot
}

// refusals counts the emulator's 403 QpsLimit answers on path.
func refusals(srv *dingtalktest.Server, path string) int {
	n := 0
	for _, c := range srv.CallsTo(path) {
		if c.Status == http.StatusForbidden {
			n++
		}
	}
	return n
}

// latencyQPS is the limit the latency benchmark runs under: DingTalk's
// own 20 calls/s per app and API.
const latencyQPS = 20

// BenchmarkCommandToRecallCall measures the bot's own latency: from a
// "/recall last 1" frame leaving the emulator to the recall API call
// arriving there, with a 1,000,000-entry ledger, DingTalk's limit on
// (20 calls/s per API, sliding) and the bot paced for it. Its baseline, in
// the same rounds, is the frame's own round trip: the frame leaving the
// emulator to its ACK arriving there. Rounds start at least one pace
// interval (and a tenth) after the last recall call, as an admin's
// commands do, so no figure is a wait for the pace: each is the bot's own.
// It reports both medians and p99s, their ratios (x-ack) and the 403s.
func BenchmarkCommandToRecallCall(b *testing.B) {
	srv, _ := benchBot(b, benchLedger(b, b.TempDir()), latencyQPS)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const rounds = 300
	gap := time.Second / latencyQPS * 11 / 10 // more than one even interval of the pace
	var lat, ack []time.Duration
	var lastCall time.Time
	for i := range rounds {
		cid := fmt.Sprintf("cid%05d", (i*37)%10_000)
		_ = srv.AddConversation(cid, dingtalktest.KindPrivate, "")
		time.Sleep(time.Until(lastCall.Add(gap)))
		before := srv.CountCalls(dingtalktest.PathPrivateRecall)
		t0 := time.Now()
		msgID, err := srv.PushMessage(dingtalktest.UserMessage{ConversationID: cid, SenderStaffID: admin, Text: "/recall last 1"})
		if err != nil {
			b.Fatal(err)
		}
		var acked time.Duration
		err = srv.WaitUntil(ctx, func() bool {
			if d, _ := srv.Delivery(msgID); d.ACKs == 1 && acked == 0 {
				acked = time.Since(t0)
			}
			return srv.CountCalls(dingtalktest.PathPrivateRecall) > before
		})
		if err != nil {
			b.Fatal(err)
		}
		last, _ := srv.LastCall(dingtalktest.PathPrivateRecall)
		lat = append(lat, last.Time.Sub(t0))
		lastCall = last.Time
		// Let the command finish (its reply) before the next, so each
		// latency is the bot's own and not a queue behind the last reply.
		if err := srv.WaitUntil(ctx, func() bool { return replied(srv, cid) }); err != nil {
			b.Fatal(err)
		}
		if acked > 0 {
			ack = append(ack, acked)
		}
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[int(float64(len(ds)-1)*q)]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(p(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(p(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(p(ack, 0.5)), "ack-p50-ms")
	b.ReportMetric(ms(p(ack, 0.99)), "ack-p99-ms")
	b.ReportMetric(float64(p(lat, 0.5))/float64(p(ack, 0.5)), "p50-x-ack")
	b.ReportMetric(float64(p(lat, 0.99))/float64(p(ack, 0.99)), "p99-x-ack")
	b.ReportMetric(latencyQPS, "limit-qps")
	b.ReportMetric(float64(refusals(srv, dingtalktest.PathPrivateRecall)+refusals(srv, dingtalktest.PathPrivateSend)), "403s")
}

// replied reports whether the bot's last message in cid is a reply.
func replied(srv *dingtalktest.Server, cid string) bool {
	c, _ := srv.Conversation(cid)
	return len(c.Messages) > 0 && c.Messages[len(c.Messages)-1].MsgKey == "sampleMarkdown"
}

// burstQPS is the limit the burst runs under: DingTalk's 20 calls/s per
// app and API scaled up ten times, so that 5,000 replies take 25 s and not
// four minutes. The answered rate is judged as a ratio to it.
const burstQPS = 200

// BenchmarkCommandBurst pushes 5,000 command frames at once and waits until
// every one is ACKed and answered, with the emulator's limit on (burstQPS
// per API, sliding) and the bot paced for it. Each command must run
// exactly once. Every reply is one oToMessages/batchSend call, so the
// replies cannot come faster than the limit: answered/s is reported with
// its ratio to that ceiling (x-ceiling), and the emulator's 403s.
func BenchmarkCommandBurst(b *testing.B) {
	const n = 5000
	// The budget everyone who is not an admin shares would drop most of
	// 5,000 people's commands at once (that is its job); this measures how
	// fast the bot runs commands it admits, so the budget admits them all.
	admitAll := func(c *config.Config) { c.Commands.CrowdBurst = n }
	for range b.N {
		srv, _ := benchBot(b, filepath.Join(b.TempDir(), "ledger.db"), burstQPS, admitAll)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		start := time.Now()
		for i := range n {
			// One command from each of n people: each is within the
			// budget a sender has (commands.burst), so every one runs.
			if _, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: fmt.Sprintf("user%04d", i), Text: "/status"}); err != nil {
				b.Fatal(err)
			}
		}
		if err := srv.WaitUntil(ctx, func() bool { return srv.StreamStats().ACKed >= n }); err != nil {
			b.Fatal(err)
		}
		acked := time.Since(start)
		// n replies, and as many more calls as DingTalk refused (their
		// retries): CountCalls is cheap, refusals copies the record, so it
		// is counted only when the calls could be enough.
		for {
			calls := srv.CountCalls(dingtalktest.PathOTOSend)
			if calls >= n && calls-refusals(srv, dingtalktest.PathOTOSend) >= n {
				break
			}
			if err := srv.WaitUntil(ctx, func() bool { return srv.CountCalls(dingtalktest.PathOTOSend) > max(calls, n-1) }); err != nil {
				b.Fatal(err)
			}
		}
		done := time.Since(start)
		refused := refusals(srv, dingtalktest.PathOTOSend)
		replies := srv.CountCalls(dingtalktest.PathOTOSend) - refused
		st := srv.StreamStats()
		cancel()
		b.ReportMetric(float64(n)/acked.Seconds(), "acked/s")
		b.ReportMetric(float64(n)/done.Seconds(), "answered/s")
		b.ReportMetric(float64(n)/done.Seconds()/burstQPS, "x-ceiling")
		b.ReportMetric(burstQPS, "limit-qps")
		b.ReportMetric(float64(refused), "403s")
		b.ReportMetric(float64(replies-n), "extra-runs")
		b.ReportMetric(float64(st.Lost+st.Redelivered), "lost+redelivered")
	}
}

// sharedQPS is the limit instances share in BenchmarkSharedQuota:
// DingTalk's own 20 calls/s per app and API.
const sharedQPS = 20

// BenchmarkSharedQuota runs two, then three bots on one Redis ledger (a
// real redis-server) against one emulator whose limit is on (sharedQPS per
// app and API, over any sliding second), each bot paced for that limit and
// taking its slots from the pace they share in Redis
// (ledger.SharedSlots). Each bot sends through its HTTP API from four
// workers until together they have sent sharedSends messages to one chat.
// Together they must stay within the limit and keep it busy: it reports
// the emulator's 403s, the most calls it saw in any sliding second, and the
// calls per second from the first call to the last with their ratio to
// the limit (x-limit).
func BenchmarkSharedQuota(b *testing.B) {
	const sharedSends = 10 * sharedQPS // ten seconds at the limit
	for _, n := range []int{2, 3} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				r := ledgertest.Own(b)
				srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: sharedQPS, SlidingWindow: true})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = srv.Close() })
				_ = srv.AddConversation(privCID, dingtalktest.KindPrivate, "")
				var bots []*app.App
				for i := range n {
					bots = append(bots, sharedBot(b, srv, r.URL, i))
				}
				srv.ResetCalls()
				b.StartTimer()
				var next atomic.Int64
				var wg sync.WaitGroup
				var failed atomic.Int64
				for _, bot := range bots {
					for range 4 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := next.Add(1); i <= sharedSends; i = next.Add(1) {
								if !benchSend(bot, fmt.Sprintf("shared %d", i)) {
									failed.Add(1)
								}
							}
						}()
					}
				}
				wg.Wait()
				b.StopTimer()
				var times []time.Time
				refused := 0
				for _, c := range srv.CallsTo(dingtalktest.PathPrivateSend) {
					switch {
					case c.Status == http.StatusForbidden:
						refused++
					case c.Status == http.StatusOK:
						times = append(times, c.Time)
					}
				}
				if len(times) < 2 || failed.Load() > 0 {
					b.Fatalf("%d calls answered, %d sends failed", len(times), failed.Load())
				}
				sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
				busiest := 0
				for i, j := 0, 0; j < len(times); j++ {
					for times[j].Sub(times[i]) >= time.Second {
						i++
					}
					busiest = max(busiest, j-i+1)
				}
				rate := float64(len(times)-1) / times[len(times)-1].Sub(times[0]).Seconds()
				b.ReportMetric(float64(n), "instances")
				b.ReportMetric(sharedQPS, "limit-qps")
				b.ReportMetric(float64(len(times)), "calls")
				b.ReportMetric(float64(refused), "403s")
				b.ReportMetric(float64(busiest), "max-per-second")
				b.ReportMetric(rate, "calls/s")
				b.ReportMetric(rate/sharedQPS, "x-limit")
				b.StartTimer()
			}
		})
	}
}

// benchToken is the HTTP API token of the shared-quota bots.
const benchToken = "bench-http-token-0123456789"

// sharedBot runs bot i on the Redis ledger at redisURL against srv, paced
// for sharedQPS, with its HTTP API on loopback.
func sharedBot(b *testing.B, srv *dingtalktest.Server, redisURL string, i int) *app.App {
	cfg := emulatorConfig(srv, sharedQPS)
	cfg.Admins = []string{admin}
	cfg.Ledger.RedisURL = redisURL
	cfg.Ledger.Spool = filepath.Join(b.TempDir(), fmt.Sprintf("bot%d.spool", i))
	cfg.HTTP = config.HTTP{Listen: "127.0.0.1:0", Token: benchToken}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	log, _ := app.NewLogger(config.Log{Level: "error", Format: "json"}, io.Discard, nil)
	bot := app.New(cfg, log, app.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := bot.Open(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = bot.Close(ctx)
	})
	return bot
}

// benchSend sends text to the private chat through app's HTTP API and
// reports whether it was sent and recorded.
func benchSend(bot *app.App, text string) bool {
	body := fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":%q}`, privCID, text)
	req, _ := http.NewRequest(http.MethodPost, "http://"+bot.HTTPAddr()+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+benchToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
