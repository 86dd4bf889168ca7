package dingtalk

import (
	"context"
	"math"
	"sync"
)

// How many calls to keep in flight. A job keeps its API's pace busy only
// if a call is ready whenever the pace allows one: by Little's law that
// takes the rate times the time each call is out (its round trip), plus
// one waiting for the next start. At DingTalk's 20/s and a 300 ms round
// trip that is 7; a fixed 4 would cap the job at 4 ÷ 0.3 s, 13 calls a
// second. The client measures each API's round trip (jitter.roundTrip) and
// InFlight turns it into a number; a Gate applies it while a job runs, so
// it follows the round trip as it changes.
const (
	// MaxInFlight bounds InFlight: more calls in flight would only wait
	// for the pace. The HTTP transport keeps this many connections.
	MaxInFlight = 64
	// minInFlight is the least: what jobs kept before the round trip was
	// measured, enough for the ledger writes around each call.
	minInFlight = 4
	// inFlightHeadroom covers round trips longer than the 90th percentile
	// and the work around each call (its ledger writes).
	inFlightHeadroom = 1.25
)

// InFlight is how many calls to apis (the largest for any of them) a job
// should keep in flight to keep their pace busy: the pace's rate times the
// measured round trip, with headroom, plus 2; 4 to MaxInFlight.
func (c *Client) InFlight(apis ...string) int {
	n := minInFlight
	for _, api := range apis {
		rtt := c.limiter(api).jit.roundTrip()
		need := int(math.Ceil(c.cfg.QPS*rtt.Seconds()*inFlightHeadroom)) + 2
		n = max(n, min(need, MaxInFlight))
	}
	return n
}

// Gate bounds work in flight by a limit that may change while it is used:
// limit is read again whenever a slot is asked for or given back, so a job
// running under a Gate of Client.InFlight follows the round trip. Waiters
// are served in order.
type Gate struct {
	limit func() int

	mu      sync.Mutex
	n       int
	waiting []chan struct{}
}

// NewGate returns a Gate of limit (at least 1).
func NewGate(limit func() int) *Gate { return &Gate{limit: limit} }

// Acquire takes a slot, waiting for one, or returns ctx's error.
func (g *Gate) Acquire(ctx context.Context) error {
	g.mu.Lock()
	if len(g.waiting) == 0 && g.n < max(1, g.limit()) {
		g.n++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.waiting = append(g.waiting, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, c := range g.waiting {
			if c == ch {
				g.waiting = append(g.waiting[:i:i], g.waiting[i+1:]...)
				return ctx.Err()
			}
		}
		g.n-- // handed a slot just as ctx ended: give it back
		g.wakeLocked()
		return ctx.Err()
	}
}

// Release gives a slot back.
func (g *Gate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	g.wakeLocked()
}

// wakeLocked hands free slots to the first waiters. g.mu must be held.
func (g *Gate) wakeLocked() {
	lim := max(1, g.limit())
	for len(g.waiting) > 0 && g.n < lim {
		g.n++
		close(g.waiting[0])
		g.waiting = g.waiting[1:]
	}
}
