package dingtalk_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestPaceKeepsDingTalksWindowOverAJitteryNetwork: with DingTalk 100 ms
// away and each way varying by ±40 ms, many callers kept busy at the limit
// (50 calls a second, counted over any sliding second as they arrive) get
// no refusal, and no second of DingTalk's ever holds more than the limit.
// Pacing 3 % under the limit with calls evenly spaced (what the client did
// before) left 31 ms of room for 80 ms of spread: calls sent a window
// apart arrived closer, and DingTalk refused them.
func TestPaceKeepsDingTalksWindowOverAJitteryNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 150 calls at 50/s over a simulated WAN (~3 s)")
	}
	const qps, calls = 50, 150
	srv, c := callsAtTheLimit(t, dingtalktest.Options{QPS: qps, SlidingWindow: true, Latency: 100 * time.Millisecond, Jitter: 40 * time.Millisecond}, calls)
	refused := 0
	for _, call := range srv.CallsTo(dingtalktest.PathOTORecall) {
		if call.Status == http.StatusForbidden {
			refused++
		}
	}
	busiest := srv.BusiestWindow(dingtalktest.PathOTORecall, time.Second)
	t.Logf("%d calls, %d refused, at most %d in a second, margin %s", calls, refused, busiest, c.PaceMargin(dingtalk.PathOTORecall))
	if refused > 0 {
		t.Errorf("DingTalk refused %d calls for its rate limit", refused)
	}
	if busiest > qps {
		t.Errorf("%d calls took effect within one second, limit %d", busiest, qps)
	}
}

// TestPaceLearnsALopsidedNetworkFromOneRefusal: the pace takes about 1/√2
// of the round trips' spread for the way there's, right where both ways
// vary alike. Where only the way there varies (the emulator's
// SteadyWayBack), that can be too little, and DingTalk may refuse a call;
// the calls already on the wire then may be refused too, but after that
// one episode the pace takes the whole spread and draws no more refusals.
// (A refusal needs more than the limit's arrivals within one second, not
// just two calls arriving closer than the margin allowed for, so in
// practice even this network seldom draws one: the lesson itself is held
// by TestMarginTakesTheWayTheresShareUntilARefusal.)
func TestPaceLearnsALopsidedNetworkFromOneRefusal(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 150 calls at 50/s over a simulated WAN (~3 s)")
	}
	const qps, calls = 50, 150
	srv, c := callsAtTheLimit(t, dingtalktest.Options{QPS: qps, SlidingWindow: true, Latency: 100 * time.Millisecond,
		Jitter: 40 * time.Millisecond, SteadyWayBack: true}, calls)
	var refused []time.Time
	for _, call := range srv.CallsTo(dingtalktest.PathOTORecall) {
		if call.Status == http.StatusForbidden {
			refused = append(refused, call.Time)
		}
	}
	t.Logf("%d calls, %d refused, margin %s", calls, len(refused), c.PaceMargin(dingtalk.PathOTORecall))
	for _, at := range refused {
		if d := at.Sub(refused[0]); d > time.Second {
			t.Errorf("a refusal %s after the first: the pace did not learn from it", d)
		}
	}
	if busiest := srv.BusiestWindow(dingtalktest.PathOTORecall, time.Second); busiest > qps {
		t.Errorf("%d calls took effect within one second, limit %d", busiest, qps)
	}
}

// callsAtTheLimit makes calls recalls through a client paced at o.QPS
// against an emulator of o, from 24 callers kept busy, and returns both.
func callsAtTheLimit(t *testing.T, o dingtalktest.Options, calls int64) (*dingtalktest.Server, *dingtalk.Client) {
	t.Helper()
	srv, err := dingtalktest.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	so := srv.Options()
	c := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: so.ClientID, ClientSecret: so.ClientSecret, RobotCode: so.RobotCode, QPS: float64(o.QPS)}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			for next.Add(1) <= calls {
				if _, err := c.RecallOTO(ctx, []string{"bm90LWEta2V5"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return srv, c
}

// TestTransportKeepsAConnectionPerCallInFlight: a job's calls in flight
// reuse their connections from one round to the next. Go's default
// transport keeps 2 idle connections to a host, so 16 calls at a time
// opened (and over HTTPS handshook) 14 new connections every round: 72 in
// 5 rounds. (A connection goes back to the pool a moment after its answer
// is read, so a round may still open one or two: at most 2 × 16 in all.)
func TestTransportKeepsAConnectionPerCallInFlight(t *testing.T) {
	const width, rounds = 16, 5
	var arrived atomic.Int64
	gates := make([]chan struct{}, rounds)
	for i := range gates {
		gates[i] = make(chan struct{})
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/accessToken") {
			_, _ = w.Write([]byte(`{"accessToken":"tok","expireIn":7200}`))
			return
		}
		n := arrived.Add(1)
		round := (n - 1) / width
		if n%width == 0 {
			close(gates[round]) // all of this round's calls are in flight at once
		}
		select {
		case <-gates[round]:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte(`{"successResult":[],"failedResult":{}}`))
	}))
	var opened atomic.Int64
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	c := dingtalk.New(dingtalk.Config{BaseURL: ts.URL, ClientID: "app", ClientSecret: "secret", RobotCode: "bot", QPS: 1000}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range rounds {
		var wg sync.WaitGroup
		for range width {
			wg.Go(func() {
				if _, err := c.RecallOTO(ctx, []string{"a2V5"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if n := opened.Load(); n > 2*width {
		t.Errorf("%d connections opened for %d rounds of %d calls in flight, want at most %d", n, rounds, width, 2*width)
	}
}
