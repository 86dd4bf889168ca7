package dingtalk

import (
	"context"
	"sync"
	"testing"
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
// callers gets the next slot.
func TestInteractiveCallsGoBeforeBulk(t *testing.T) {
	g := gateSlots{open: make(chan struct{})}
	p := newPacer("/x", 1000, g)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	queued := make(chan struct{}, 10)
	call := func(name string, prio Priority) {
		defer wg.Done()
		queued <- struct{}{}
		if _, _, err := p.wait(ctx, prio); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
	}
	waiting := func(n int) { // until n callers wait for their turn
		for {
			p.mu.Lock()
			got := len(p.waiting[Interactive]) + len(p.waiting[Bulk])
			p.mu.Unlock()
			if got == n {
				return
			}
			time.Sleep(time.Millisecond) // polling the pacer's own state: it has no event to wait on
		}
	}
	wg.Add(1)
	go call("bulk-0", Bulk) // takes the turn, waits for a slot
	<-queued
	for i, name := range []string{"bulk-1", "bulk-2", "bulk-3"} {
		wg.Add(1)
		go call(name, Bulk)
		<-queued
		waiting(i + 1)
	}
	wg.Add(1)
	go call("reply", Interactive)
	<-queued
	waiting(4)
	for range 5 {
		g.open <- struct{}{}
	}
	wg.Wait()
	want := []string{"bulk-0", "reply", "bulk-1", "bulk-2", "bulk-3"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("slots went to %v, want %v", order, want)
		}
	}
}

// TestCancelledWaiterPassesItsTurnOn: a caller that gives up while waiting
// never blocks the ones behind it.
func TestCancelledWaiterPassesItsTurnOn(t *testing.T) {
	g := gateSlots{open: make(chan struct{})}
	p := newPacer("/x", 1000, g)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := make(chan error)
	go func() { _, _, err := p.wait(ctx, Bulk); first <- err }()
	short, stop := context.WithCancel(ctx)
	gaveUp := make(chan error)
	go func() {
		for { // wait until the first caller holds the turn
			p.mu.Lock()
			busy := p.busy
			p.mu.Unlock()
			if busy {
				break
			}
			time.Sleep(time.Millisecond)
		}
		_, _, err := p.wait(short, Bulk)
		gaveUp <- err
	}()
	for { // until the second caller waits for its turn
		p.mu.Lock()
		n := len(p.waiting[Bulk])
		p.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
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
}
