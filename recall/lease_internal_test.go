package recall

import (
	"context"
	"sync/atomic"
	"testing"
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
// over. Its work stops for good; a new claim works in a new epoch.
func TestStalledLeaseIsNeverRenewed(t *testing.T) {
	w := &countingLease{}
	var l lease
	l.init(w, "me", 300*time.Millisecond, zap.NewNop())
	l.renewed(time.Now()) // the claim wrote the lease
	release, valid := l.hold()
	defer release()
	if !valid(time.Now()) {
		t.Fatal("a fresh claim's lease is not valid")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	poll := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("%s never happened", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	poll("a renewal", func() bool { return w.writes.Load() > 0 })

	// The process "wakes" from a stall: its last write is a TTL old.
	l.last.Store(time.Now().Add(-300 * time.Millisecond).UnixNano())
	epoch := l.epoch.Load()
	poll("the lapse", func() bool { return l.epoch.Load() != epoch })
	writes := w.writes.Load()
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
	poll("a renewal for the new claim", func() bool { return w.writes.Load() > writes })
}
