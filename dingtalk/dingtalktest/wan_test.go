package dingtalktest_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestLatencySplitsTheRoundTrip: with a round trip of 400 ms ± 40 ms a
// half, every call takes effect at least 160 ms after it was sent and is
// answered at least 160 ms after that. Only lower bounds are asserted: a
// busy machine makes every figure later, never earlier.
func TestLatencySplitsTheRoundTrip(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{QPS: -1})
	tok := accessToken(t, srv) // on loopback: no latency yet
	if err := srv.AddConversation("cidwan", dingtalktest.KindPrivate, ""); err != nil {
		t.Fatal(err)
	}
	srv.SetLatency(400*time.Millisecond, 40*time.Millisecond)
	const half = 160 * time.Millisecond // 200 ms - 40 ms, the shortest a half can be
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent, answered := map[string]time.Time{}, map[string]time.Time{}
	for _, text := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			key := sendPrivate(t, srv, tok, "cidwan", text)
			t1 := time.Now()
			mu.Lock()
			sent[key], answered[key] = t0, t1
			mu.Unlock()
		}()
	}
	wg.Wait()
	calls := srv.CallsTo(dingtalktest.PathPrivateSend)
	if len(calls) != 4 {
		t.Fatalf("%d calls recorded, want 4", len(calls))
	}
	for _, c := range calls {
		key := c.Response[strings.Index(c.Response, `:"`)+2 : strings.LastIndex(c.Response, `"`)]
		t0, ok := sent[key]
		if !ok {
			t.Fatalf("call %s answered no sender", c.Response)
		}
		if took := c.Time.Sub(t0); took < half {
			t.Errorf("took effect %s after it was sent, want at least %s", took, half)
		}
		if back := answered[key].Sub(c.Time); back < half {
			t.Errorf("answered %s after it took effect, want at least %s", back, half)
		}
	}
}

// TestCallLostOnTheWayNeverTakesEffect: a caller that gives up while its
// request is still travelling leaves nothing behind: no message, no call
// counted against the limit.
func TestCallLostOnTheWayNeverTakesEffect(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	if err := srv.AddConversation("cidwan", dingtalktest.KindPrivate, ""); err != nil {
		t.Fatal(err)
	}
	srv.SetLatency(time.Minute, 0)
	ctx, cancel := context.WithCancel(testContext(t))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+dingtalktest.PathPrivateSend,
		strings.NewReader(`{"msgKey":"sampleText","msgParam":"{\"content\":\"x\"}","openConversationId":"cidwan","robotCode":"dingemulatorbot","coolAppCode":"COOLAPP-1-EMULATOR"}`))
	req.Header.Set("x-acs-dingtalk-access-token", tok)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	if err := srv.WaitUntil(testContext(t), func() bool { return srv.InFlight() == 1 }); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a call cancelled on its way was answered")
	}
	if err := srv.WaitUntil(testContext(t), func() bool { return srv.InFlight() == 0 }); err != nil {
		t.Fatal(err)
	}
	if n := srv.CountCalls(dingtalktest.PathPrivateSend); n != 0 {
		t.Errorf("%d calls recorded", n)
	}
	if c, _ := srv.Conversation("cidwan"); len(c.Messages) != 0 {
		t.Errorf("the chat holds %d messages", len(c.Messages))
	}
	if got := srv.MaxInFlight(); got != 1 {
		t.Errorf("MaxInFlight %d, want 1", got)
	}
}

// TestBusiestWindowCountsWhatTheLimitCounted: the sliding window the
// limit applies, and BusiestWindow's count of it, agree: at 3 a second,
// ten calls in a row never leave more than 3 counted in one second.
func TestBusiestWindowCountsWhatTheLimitCounted(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{QPS: 3, SlidingWindow: true})
	tok := accessToken(t, srv)
	body := `{"robotCode":"dingemulatorbot","processQueryKeys":["abc"]}`
	refused := 0
	for range 10 {
		if status, _ := post(t, srv.URL()+dingtalktest.PathOTORecall, tok, body); status == 403 {
			refused++
		}
	}
	// On a machine that stalls for a second between calls more go through
	// in later windows; however slow, no window ever holds more than 3.
	if got := srv.BusiestWindow(dingtalktest.PathOTORecall, time.Second); got > 3 || got < 1 {
		t.Errorf("busiest second holds %d calls, want 1 to 3", got)
	}
	if got := srv.CountCalls(dingtalktest.PathOTORecall); got != 10 {
		t.Errorf("%d calls recorded, want 10", got)
	}
	if refused > 7 {
		t.Errorf("%d of 10 refused: at most 7 can be", refused)
	}
}
