package recall

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// countingLease counts lease writes; the lease calls nothing else of the
// ledger's TempStore.
type countingLease struct {
	ledger.TempStore
	writes atomic.Int64
}

func (c *countingLease) PutTemp(context.Context, string, string, []byte, time.Duration) error {
	c.writes.Add(1)
	return nil
}

// TestStalledLeaseIsNeverRenewed: a process stopped longer than two thirds
// of its lease (SIGSTOP, a paused VM) must not renew the lease on waking
// and go on calling DingTalk for claims another instance may have taken
// over. Its work stops for good; a new claim works in a new epoch. The
// lease runs on the clock of a synctest bubble: the only stall is the one
// the test makes (on the real clock, a busy machine that held the test
// back for two thirds of the 300 ms TTL lapsed the new claim's lease too,
// and its renewal never came).
func TestStalledLeaseIsNeverRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 300 * time.Millisecond // renewed every 100 ms
		w := &countingLease{}
		var l lease
		l.init(w, "me", ttl, zap.NewNop())
		l.renewed(time.Now()) // the claim wrote the lease
		release, valid := l.hold()
		defer release()
		if !valid(time.Now()) {
			t.Fatal("a fresh claim's lease is not valid")
		}
		time.Sleep(150 * time.Millisecond) // the renewer's first tick, at 100 ms
		synctest.Wait()
		if n := w.writes.Load(); n != 1 {
			t.Fatalf("%d renewals after one tick, want 1", n)
		}

		// The process "wakes" from a stall: its last write is a TTL old.
		l.last.Store(time.Now().Add(-ttl).UnixNano())
		epoch := l.epoch.Load()
		time.Sleep(100 * time.Millisecond) // the next tick finds it lapsed
		synctest.Wait()
		if l.epoch.Load() == epoch {
			t.Fatal("the lapse was not noticed")
		}
		writes := w.writes.Load()
		if writes != 1 {
			t.Errorf("the lapsed lease was written again (%d writes)", writes)
		}
		if valid(time.Now()) {
			t.Error("the work that held a lapsed lease may still call DingTalk")
		}
		l.renewed(time.Now()) // a new claim
		release2, valid2 := l.hold()
		defer release2()
		if !valid2(time.Now()) {
			t.Error("a new claim after the lapse cannot work")
		}
		if valid(time.Now()) {
			t.Error("a new claim revived the lapsed work")
		}
		time.Sleep(100 * time.Millisecond) // the next tick renews for the new claim
		synctest.Wait()
		if w.writes.Load() <= writes {
			t.Error("no renewal for the new claim")
		}
		if valid(time.Now()) || !valid2(time.Now()) {
			t.Error("after the renewal the lapsed work may call DingTalk, or the new claim may not")
		}
	})
}
