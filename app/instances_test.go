package app_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestInstancesShareOneQuota: two, then three bots sharing a Redis ledger
// share the app's DingTalk quota too (one schedule of call starts per API,
// booked in Redis): every call of every bot, retries included, books its
// start in that one window, so together they never offer DingTalk more
// than its limit in any second and draw no refusal, where bots pacing
// themselves alone each fill the window (measured: 6 and 14 refusals for
// the same sends). A stall on a busy machine between a call's booked start
// and its request is measured and widens the margin (dingtalk/jitter.go).
// How close together they come to the limit is measured by
// BenchmarkSharedQuota (BENCHMARKS.md), not asserted here.
func TestInstancesShareOneQuota(t *testing.T) {
	// Not parallel: it holds the bots to DingTalk's limit to the call, and a
	// test running beside it on the same cores stalls calls between the
	// start they booked and their request.
	if testing.Short() {
		t.Skip("sends 240 messages at DingTalk's pace (~5 s)")
	}
	r := ledgertest.Own(t)
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: 40, SlidingWindow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var bots []*harness
	for range 3 {
		bots = append(bots, startOn(t, srv, func(c *config.Config) {
			c.DingTalk.QPS = 40
			c.Ledger.RedisURL = r.URL
			c.Ledger.Spool = c.Ledger.Path + ".spool"
		}))
	}
	for _, n := range []int{2, 3} {
		srv.ResetCalls()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for i, h := range bots[:n] {
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range 60 / n / 4 * 2 {
						r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"shared %d-%d-%d"}`, privCID, i, w, j))
						if r.StatusCode != 200 {
							failed.Add(1)
							t.Logf("send: %d %v", r.StatusCode, body)
						}
					}
				}()
			}
		}
		wg.Wait()
		calls := srv.CallsTo(dingtalktest.PathPrivateSend)
		refused := 0
		for _, c := range calls {
			if c.Status == 403 {
				refused++
			}
		}
		span := calls[len(calls)-1].Time.Sub(calls[0].Time)
		t.Logf("%d bots: %d sends in %s, %d refused, at most %d in a second (limit 40)", n, len(calls)-refused,
			span.Round(time.Millisecond), refused, srv.BusiestWindow(dingtalktest.PathPrivateSend, time.Second))
		if failed.Load() > 0 {
			t.Errorf("%d bots: %d sends failed", n, failed.Load())
		}
		if refused > 0 {
			t.Errorf("%d bots: DingTalk refused %d calls for its limit: the bots do not keep to one window", n, refused)
		}
	}
}
