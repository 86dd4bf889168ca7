package dingtalk

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestInFlightFollowsTheRoundTrip: the calls a job should keep in flight
// are the pace's rate times the round trip, with headroom: 4 before any
// round trip is known, 10 at 20/s and 300 ms, never more than MaxInFlight.
func TestInFlightFollowsTheRoundTrip(t *testing.T) {
	c := New(Config{QPS: 20}, nil)
	if got := c.InFlight(PathOTOSend); got != minInFlight {
		t.Errorf("before any round trip: %d, want %d", got, minInFlight)
	}
	for range rttSamples {
		c.limiter(PathOTOSend).jit.answered(300 * time.Millisecond)
	}
	if got := c.InFlight(PathOTOSend); got != 10 { // ⌈20 × 0.3 × 1.25⌉ + 2
		t.Errorf("300 ms at 20/s: %d, want 10", got)
	}
	if got := c.InFlight(PathGroupSend, PathOTOSend); got != 10 {
		t.Errorf("the largest of two APIs: %d, want 10", got)
	}
	for range rttSamples {
		c.limiter(PathOTOSend).jit.answered(10 * time.Second)
	}
	if got := c.InFlight(PathOTOSend); got != MaxInFlight {
		t.Errorf("10 s at 20/s: %d, want %d", got, MaxInFlight)
	}
}

// TestGateFollowsItsLimit: a Gate admits up to its limit, reads the limit
// again as slots come back (so a job follows a changing round trip), and a
// waiter that gives up leaves no slot taken.
func TestGateFollowsItsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var limit atomic.Int64
		limit.Store(2)
		g := NewGate(func() int { return int(limit.Load()) })
		ctx := context.Background()
		for range 2 {
			if err := g.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var admitted atomic.Int64
		for range 3 {
			go func() {
				if g.Acquire(ctx) == nil {
					admitted.Add(1)
				}
			}()
		}
		synctest.Wait()
		if admitted.Load() != 0 {
			t.Fatalf("%d admitted past a limit of 2", admitted.Load())
		}
		limit.Store(4)
		g.Release() // 1 held; the limit is now 4: three may go
		synctest.Wait()
		if admitted.Load() != 3 {
			t.Fatalf("%d admitted after the limit rose to 4, want 3", admitted.Load())
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := g.Acquire(short); err == nil {
			t.Fatal("a fifth slot past a limit of 4")
		}
		limit.Store(1)
		for range 4 {
			g.Release()
		}
		if err := g.Acquire(ctx); err != nil { // nothing held: the gate is free again
			t.Fatal(err)
		}
	})
}
