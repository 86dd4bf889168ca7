package dingtalk

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DingTalk allows each app 20 calls a second to each API (docs/dingtalk.md
// §6); more are refused with 403 QpsLimitForAppkeyAndApi. The client paces
// every call to stay under that:
//
//   - Slots hands out one slot per call, at most QPS × paceMargin a second,
//     evenly spaced (a token bucket, or GCRA, of PaceBurst), so that no
//     sliding second ever holds more than the limit, with a little room
//     for the network's jitter between us and DingTalk;
//   - within a process, callers queue for the next slot by priority:
//     interactive work (an admin's command, its reply) goes before bulk
//     work (a broadcast, a large recall), so replies never starve behind a
//     broadcast; across instances sharing Slots, each takes its turn;
//   - after a 403 all callers of that API pause for DingTalk's window.

// paceMargin is the share of the limit the client paces at: 3 % of room
// for the jitter between our clock and DingTalk's.
const paceMargin = 0.97

// PaceQPS is the rate the client actually paces a limit of qps at; shared
// Slots must be made at it.
func PaceQPS(qps float64) float64 { return qps * paceMargin }

// PaceBurst is how many calls may go back to back after a pause, so that
// a slot a stall let pass (a slow disk, a busy machine) is made up rather
// than lost: half the margin between the limit and the pace, at least 1.
// Any second then holds at most burst + pace calls: under the limit (3 at
// 200/s, 194 + 3 ≤ 200; at DingTalk's 20/s, 1 as before).
func PaceBurst(qps float64) int { return max(1, int((qps-PaceQPS(qps))/2)) }

// Priority orders callers waiting for the same API's next slot.
type Priority int

// Priorities: interactive work goes first.
const (
	Interactive Priority = iota
	Bulk
)

type priorityKey struct{}

// WithPriority marks ctx's calls with p (Bulk for broadcasts and large
// recalls); unmarked calls are Interactive.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf is ctx's priority.
func PriorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// Slots hands out the slots of each API's pace. Take blocks until the next
// call to api may go, or ctx ends. The client calls Take for one caller at
// a time per API, in priority order. A local token bucket by default; the
// Redis ledger offers one shared by every instance (ledger.Redis.Slots).
type Slots interface {
	Take(ctx context.Context, api string) error
}

// localSlots is a token bucket per API, in this process, at PaceQPS with
// PaceBurst.
type localSlots struct {
	qps   float64
	burst int
	mu    sync.Mutex
	lim   map[string]*rate.Limiter
}

func newLocalSlots(limit float64) *localSlots {
	return &localSlots{qps: PaceQPS(limit), burst: PaceBurst(limit), lim: map[string]*rate.Limiter{}}
}

func (s *localSlots) Take(ctx context.Context, api string) error {
	s.mu.Lock()
	l, ok := s.lim[api]
	if !ok {
		l = rate.NewLimiter(rate.Limit(s.qps), s.burst)
		s.lim[api] = l
	}
	s.mu.Unlock()
	return l.Wait(ctx)
}

// pacer paces one API: callers take turns by priority for the next slot;
// after a rate-limit refusal every caller waits out DingTalk's window.
type pacer struct {
	api      string
	slots    Slots
	pauseEnd atomic.Int64 // unix nanoseconds; calls wait until then

	mu      sync.Mutex
	busy    bool               // a caller is taking a slot
	waiting [2][]chan struct{} // callers queued for their turn, by priority
}

// wait blocks until a call may go, or returns ctx's error.
func (p *pacer) wait(ctx context.Context, prio Priority) error {
	if err := p.turn(ctx, prio); err != nil {
		return err
	}
	defer p.next()
	if d := time.Until(time.Unix(0, p.pauseEnd.Load())); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.slots.Take(ctx, p.api)
}

// turn waits until this caller is the one taking a slot.
func (p *pacer) turn(ctx context.Context, prio Priority) error {
	prio = min(max(prio, Interactive), Bulk)
	p.mu.Lock()
	if !p.busy {
		p.busy = true
		p.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	p.waiting[prio] = append(p.waiting[prio], ch)
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		q := p.waiting[prio]
		for i, c := range q {
			if c == ch {
				p.waiting[prio] = append(q[:i:i], q[i+1:]...)
				p.mu.Unlock()
				return ctx.Err()
			}
		}
		p.mu.Unlock()
		p.next() // the turn was handed over just as ctx ended: pass it on
		return ctx.Err()
	}
}

// next hands the turn to the first waiting caller of the highest
// priority, or frees it.
func (p *pacer) next() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for prio := range p.waiting {
		if q := p.waiting[prio]; len(q) > 0 {
			p.waiting[prio] = q[1:]
			close(q[0])
			return
		}
	}
	p.busy = false
}

// pause holds every caller back for d from now (jittered by up to a
// tenth, so that waiting callers do not all go at once).
func (p *pacer) pause(d time.Duration) {
	end := time.Now().Add(d + rand.N(d/10+1)).UnixNano()
	for {
		cur := p.pauseEnd.Load()
		if cur >= end || p.pauseEnd.CompareAndSwap(cur, end) {
			return
		}
	}
}

// limiter returns the pacer for one API path.
func (c *Client) limiter(path string) *pacer {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limiters[path]
	if !ok {
		l = &pacer{api: path, slots: c.cfg.Slots}
		c.limiters[path] = l
	}
	return l
}
