package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// floodSize is the flood issue 16 measured: 1,000 commands from one
// non-admin, typed as fast as a script can.
const floodSize = 1000

// floodQPS is the limit the flood runs under: DingTalk's own 20 calls/s
// per app and API, shared by the two bots.
const floodQPS = 20

// BenchmarkAdminUnderFlood measures how long an admin's "/recall last 1"
// takes to reach DingTalk (its frame leaving the emulator to the recall
// call arriving there) while one non-admin floods the bots with floodSize
// "/recall last 5", as a ratio to the same command without the flood in
// the same run. Two bots share one Redis ledger (a real redis-server) and
// one app's quota, at DingTalk's own 20 calls/s per API over any sliding
// second, as the issue measured them. Each of b.N rounds times one quiet
// command, then pushes a flood from a new non-admin, the admin's command
// right after its last frame, and waits until both bots have handled all
// of it. It reports the medians and the worst of both latencies and their
// ratio, the Redis keys a flood added beyond what the quiet command added,
// and the share of GET /v1/audit's default view the flooders hold.
func BenchmarkAdminUnderFlood(b *testing.B) {
	r := ledgertest.Own(b)
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: floodQPS, SlidingWindow: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	_ = srv.AddConversation(privCID, dingtalktest.KindPrivate, "")
	bots := []*app.App{sharedBot(b, srv, r.URL, 0), sharedBot(b, srv, r.URL, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := srv.WaitUntil(ctx, func() bool { return len(srv.Connections()) == 2 }); err != nil {
		b.Fatal(err)
	}
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	keys := func() int64 { n, _ := rdb.DBSize(ctx).Result(); return n }
	rounds := b.N
	for i := range 2 * rounds { // a message for each admin command to recall
		if !benchSend(bots[i%2], fmt.Sprintf("notice %d", i)) {
			b.Fatal("seeding the chat failed")
		}
	}
	// admin types "/recall last 1" and waits for its recall call; it
	// returns the latency and waits for the reply too.
	recallOnce := func() time.Duration {
		before := srv.CountCalls(dingtalktest.PathPrivateRecall)
		t0 := time.Now()
		if _, err := srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"}); err != nil {
			b.Fatal(err)
		}
		if err := srv.WaitUntil(ctx, func() bool { return srv.CountCalls(dingtalktest.PathPrivateRecall) > before }); err != nil {
			b.Fatal(err)
		}
		last, _ := srv.LastCall(dingtalktest.PathPrivateRecall)
		return last.Time.Sub(t0)
	}
	settle := func(handled int) {
		if err := waitFor(ctx, func() bool { return commandsHandled(bots...) >= handled }); err != nil {
			b.Fatalf("%d of %d commands handled: %v", commandsHandled(bots...), handled, err)
		}
	}
	var quiet, flood []time.Duration
	var quietKeys, floodKeys int64
	handled := commandsHandled(bots...)
	b.ResetTimer()
	for i := range rounds {
		k0 := keys()
		quiet = append(quiet, recallOnce())
		handled++
		settle(handled)
		k1 := keys()
		quietKeys += k1 - k0
		flooder := fmt.Sprintf("intern%03d", i)
		for range floodSize {
			if _, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: flooder, Text: "/recall last 5"}); err != nil {
				b.Fatal(err)
			}
		}
		flood = append(flood, recallOnce())
		handled += floodSize + 1
		settle(handled)
		floodKeys += keys() - k1
	}
	b.StopTimer()
	share := flooderShare(b, bots[0])
	sort.Slice(quiet, func(i, j int) bool { return quiet[i] < quiet[j] })
	sort.Slice(flood, func(i, j int) bool { return flood[i] < flood[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	qp50, fp50 := quiet[len(quiet)/2], flood[len(flood)/2]
	b.ReportMetric(ms(qp50), "quiet-p50-ms")
	b.ReportMetric(ms(quiet[len(quiet)-1]), "quiet-max-ms")
	b.ReportMetric(ms(fp50), "flood-p50-ms")
	b.ReportMetric(ms(flood[len(flood)-1]), "flood-max-ms")
	b.ReportMetric(float64(fp50)/float64(qp50), "p50-x-quiet")
	b.ReportMetric(float64(flood[len(flood)-1])/float64(quiet[len(quiet)-1]), "max-x-quiet")
	b.ReportMetric(float64(floodKeys-quietKeys)/float64(rounds), "flood-keys")
	b.ReportMetric(share, "audit-flood-share")
	b.ReportMetric(floodSize, "flood-commands")
	b.ReportMetric(floodQPS, "limit-qps")
	b.ReportMetric(float64(refusals(srv, dingtalktest.PathPrivateRecall)+refusals(srv, dingtalktest.PathOTOSend)), "403s")
}

// commandsHandled is the chat commands the bots have counted
// (recallbot_commands_total, whatever their verb and outcome).
func commandsHandled(apps ...*app.App) int {
	n := 0
	for _, a := range apps {
		mfs, _ := a.Metrics.Registry.Gather()
		for _, mf := range mfs {
			if mf.GetName() != "recallbot_commands_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				n += int(m.GetCounter().GetValue())
			}
		}
	}
	return n
}

// flooderShare is the share of GET /v1/audit's default view (its last 500
// records) whose actor is one of the benchmark's flooders.
func flooderShare(b *testing.B, bot *app.App) float64 {
	req, _ := http.NewRequest(http.MethodGet, "http://"+bot.HTTPAddr()+"/v1/audit?limit=500", nil)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Records []struct {
			Actor string `json:"actor"`
		} `json:"records"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		b.Fatalf("GET /v1/audit: %d %s", resp.StatusCode, raw)
	}
	if len(body.Records) == 0 {
		return 0
	}
	n := 0
	for _, r := range body.Records {
		if strings.HasPrefix(r.Actor, "intern") {
			n++
		}
	}
	return float64(n) / float64(len(body.Records))
}
