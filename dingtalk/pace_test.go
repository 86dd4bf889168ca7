package dingtalk

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// gateSlots hands out a slot each time the test says so, and records the
// order in which callers got them.
type gateSlots struct {
	open chan struct{}
}

func (g gateSlots) Take(ctx context.Context, api string, margin time.Duration) (time.Time, error) {
	select {
	case <-g.open:
		return time.Now(), nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

// TestInteractiveCallsGoBeforeBulk: callers of one API queue for its
// slots; an interactive caller that arrives behind a broadcast's bulk
// callers gets the next slot. It runs in a synctest bubble: synctest.Wait
// returns once every caller is blocked (waiting for its turn or for a
// slot), so each step is taken when the pacer has settled, and the order
// is read one slot at a time (it used to be appended by the callers after
// their wait returned, which a busy machine could reorder).
func TestInteractiveCallsGoBeforeBulk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := gateSlots{open: make(chan struct{})}
		p := newPacer("/x", 1000, g)
		ctx := t.Context()
		var order []string
		got := make(chan string)
		call := func(name string, prio Priority) {
			if _, _, err := p.wait(ctx, prio); err != nil {
				t.Error(err)
			}
			got <- name
		}
		for _, name := range []string{"bulk-0", "bulk-1", "bulk-2", "bulk-3"} {
			go call(name, Bulk)
			synctest.Wait() // bulk-0 holds the turn and waits for a slot; the others queue behind it
		}
		go call("reply", Interactive)
		synctest.Wait()
		for range 5 {
			g.open <- struct{}{} // one slot, to whoever holds the turn
			order = append(order, <-got)
		}
		want := []string{"bulk-0", "reply", "bulk-1", "bulk-2", "bulk-3"}
		for i := range want {
			if order[i] != want[i] {
				t.Fatalf("slots went to %v, want %v", order, want)
			}
		}
	})
}

// TestCancelledWaiterPassesItsTurnOn: a caller that gives up while waiting
// never blocks the ones behind it. (In a synctest bubble: synctest.Wait
// returns once the callers are blocked where the step needs them.)
func TestCancelledWaiterPassesItsTurnOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := gateSlots{open: make(chan struct{})}
		p := newPacer("/x", 1000, g)
		ctx := t.Context()
		first := make(chan error)
		go func() { _, _, err := p.wait(ctx, Bulk); first <- err }()
		synctest.Wait() // the first caller holds the turn, waiting for a slot
		short, stop := context.WithCancel(ctx)
		gaveUp := make(chan error)
		go func() { _, _, err := p.wait(short, Bulk); gaveUp <- err }()
		synctest.Wait() // the second waits for its turn
		stop()
		if err := <-gaveUp; err == nil {
			t.Error("a cancelled waiter got a slot")
		}
		g.open <- struct{}{}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		last := make(chan error)
		go func() { _, _, err := p.wait(ctx, Interactive); last <- err }()
		g.open <- struct{}{}
		if err := <-last; err != nil {
			t.Error(err)
		}
	})
}
