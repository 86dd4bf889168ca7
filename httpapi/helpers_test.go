package httpapi

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

// newAPI is the API with token over led, DingTalk refusing every call
// (refusingAPI: no network), its background work owned by the test.
func newAPI(tb testing.TB, token string, led *ledger.Bolt, cfg operator.Config, engine recall.Config) *API {
	log := zap.NewNop()
	op := operator.New(led, recall.NewSender(led, refusingAPI{}, log, recall.SenderConfig{}), recall.New(led, refusingAPI{}, log, engine),
		recall.NewBroadcaster(led, refusingAPI{}, log, recall.BroadcastConfig{}), background(tb), cfg)
	return &API{Token: token, Ledger: led, Log: log, Operator: op}
}

// tempLedger is a bbolt ledger in a file of the test's, closed when the
// test ends (after the work newAPI's background waits for).
func tempLedger(tb testing.TB) *ledger.Bolt {
	tb.Helper()
	led, err := ledger.Open(filepath.Join(tb.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = led.Close() })
	return led
}

// background runs work that outlives its request until the test ends,
// and waits for it.
func background(tb testing.TB) func(func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() { cancel(); wg.Wait() })
	return func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
}
