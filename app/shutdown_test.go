package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestShutdown: what SIGTERM does (Close, within its grace) to the work
// in progress: the work finishes, and every key a send got is recorded.
func TestShutdown(t *testing.T) {
	t.Parallel()
	t.Run("finishes a running recall", testShutdownFinishesARunningRecall)
	t.Run("finishes an async recall", testShutdownFinishesAnAsyncRecall)
	t.Run("records the keys of sends in flight", testShutdownRecordsKeysOfSendsInFlight)
}

func testShutdownFinishesARunningRecall(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(3)
	h.srv.Delay(dingtalktest.PathPrivateRecall, 300*time.Millisecond, 1)
	_, _ = h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 3"})
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.InFlight() > 0 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.Close(ctx); err != nil { // what SIGTERM does
		t.Fatalf("Close: %v", err)
	}
	if h.recalledCount() != 3 || len(h.botReplies(privCID)) != 1 {
		t.Errorf("after shutdown: %d recalled, %d replies", h.recalledCount(), len(h.botReplies(privCID)))
	}
}

// testShutdownFinishesAnAsyncRecall: an asynchronous recall running when
// SIGTERM comes finishes within the grace; cut short, it would leave
// messages recalled in the chat but recorded failed.
func testShutdownFinishesAnAsyncRecall(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	es := h.notify(3)
	h.srv.Delay(dingtalktest.PathPrivateRecall, 300*time.Millisecond, 1)
	var keys []string
	for _, e := range es {
		keys = append(keys, e.ProcessQueryKey)
	}
	body, _ := json.Marshal(map[string]any{"keys": keys, "async": true})
	if r, b := h.do("POST", "/v1/recalls", testToken, string(body)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("async recall: %d %v", r.StatusCode, b)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.InFlight() > 0 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	led, err := ledger.Open(h.app.Config.Ledger.Path, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	for _, e := range es {
		got, _ := led.Get(context.Background(), e.ID)
		if m, _ := h.srv.Message(e.ProcessQueryKey); !m.Recalled || got.State != ledger.Recalled {
			t.Errorf("entry %d: chat recalled %v, ledger %s (%s)", e.ID, m.Recalled, got.State, got.Reason)
		}
	}
}

// testShutdownRecordsKeysOfSendsInFlight: SIGTERM while a command's recall
// hangs past the grace and HTTP sends are in flight. Both intakes stop at
// once (new requests are refused), and the ledger is closed only after
// every send that got its key has recorded it.
func testShutdownRecordsKeysOfSendsInFlight(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	h.notify(1)
	h.srv.Delay(dingtalktest.PathPrivateRecall, 5*time.Second, 1)
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.InFlight() == 1 }); err != nil {
		t.Fatalf("the recall never reached DingTalk: %v\n%s", err, h.logs.String())
	}
	h.srv.Delay(dingtalktest.PathPrivateSend, 300*time.Millisecond, 1000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var accepted, refused atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				req, _ := http.NewRequest("POST", "http://"+h.app.HTTPAddr()+"/v1/messages",
					strings.NewReader(fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"in flight %d-%d"}`, privCID, w, i)))
				req.Header.Set("Authorization", "Bearer "+testToken)
				r, err := http.DefaultClient.Do(req)
				if err != nil { // refused: the intake is closed
					refused.Add(1)
					return
				}
				_ = r.Body.Close()
				accepted.Add(1)
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	// Sends are now in flight; shut down with a 1 s grace.
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.InFlight() >= 3 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = h.app.Close(ctx)
	close(stop)
	wg.Wait()
	led, err := ledger.Open(h.app.Config.Ledger.Path, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	issued := 0
	for _, m := range h.srv.BotMessages() {
		if !strings.HasPrefix(m.Text, "in flight") {
			continue
		}
		issued++
		if _, err := led.ByKey(context.Background(), m.ProcessQueryKey); err != nil {
			t.Errorf("DingTalk issued a key for %q during shutdown; the ledger lost it: %v", m.Text, err)
		}
	}
	t.Logf("%d requests answered, %d refused after shutdown began; %d keys issued, all in the ledger", accepted.Load(), refused.Load(), issued)
	if refused.Load() == 0 {
		t.Error("the HTTP API kept accepting requests during shutdown")
	}
}
