package dingtalk

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DingTalk allows each app qps calls to each API within any one-second
// window (docs/dingtalk.md §6), counted as they arrive; more are refused
// with 403 QpsLimitForAppkeyAndApi, and DingTalk's guidance is to wait its
// window out. A call sent now arrives half a round trip later, and that
// half varies from call to call: two calls sent a second apart can arrive
// closer together. So the client paces each API on the window itself,
// widened by what the network makes uncertain:
//
//   - no window of 1 s plus a margin holds more than qps call starts
//     (schedule, in window.go; or the same rule in Redis, shared by every
//     instance of the app, through Slots). Calls started that far apart
//     arrive at least a second apart however the way there varies, if it
//     varies by less than the margin;
//   - the margin is learned from the spread of the API's round trips
//     (jitter.go): it grows at once when they spread, shrinks slowly when
//     they calm, grows after each refusal, and stays within 10 ms (clock
//     and timer slack) to 500 ms. A call whose request leaves late is
//     placed where it left (window.go);
//   - within the window, calls are spaced at the limit's own rate, with up
//     to half a window's calls back to back after a pause (a job's start,
//     a stall), so that a slot a stall let pass is made up while the
//     window keeps the limit. The window then opens with that half and
//     ends idle for its margin: an interactive call waits at most about
//     half a window behind a broadcast, and a job's last window is done
//     in half of it;
//   - callers queue for the next start by priority: interactive work (an
//     admin's command, its reply) before bulk work (a broadcast, a large
//     recall);
//   - after a 403 every caller of the API waits until a window and the
//     margin have passed since the refused call started.

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

// Slots hands out call starts shared by every instance of the app, so
// that together they keep to the pace's window (ledger.Redis.Slots). Take
// books the next start of a call to api, for a caller whose calls take up
// to margin longer to reach DingTalk at one time than at another, waits
// for it and returns it (by this process's clock), or returns ctx's error.
// Any other error means the shared schedule cannot be reached: the client
// then paces this instance alone. The client calls Take for one caller at
// a time per API, in priority order.
type Slots interface {
	Take(ctx context.Context, api string, margin time.Duration) (time.Time, error)
}

// pacer paces one API: callers take turns by priority for the next start;
// after a rate-limit refusal every caller waits out DingTalk's window.
type pacer struct {
	api      string
	shared   Slots     // nil: this process alone
	local    *schedule // this process's own starts; the schedule when shared is nil or down
	jit      jitter
	pauseEnd atomic.Int64 // unix nanoseconds; calls wait until then

	mu      sync.Mutex
	busy    bool               // a caller is taking a slot
	waiting [2][]chan struct{} // callers queued for their turn, by priority
}

func newPacer(api string, qps float64, shared Slots) *pacer {
	return &pacer{api: api, shared: shared, local: newSchedule(qps)}
}

// wait blocks until a call may start, or returns ctx's error. It returns
// the call's start, and wrote, which the caller must call once: with the
// moment the call's request was written, or with a zero time if it never
// was. The local delay between the two (a busy machine waking the caller
// late, a new connection's handshake) is measured; alone, the schedule
// places the call where its request really left.
func (p *pacer) wait(ctx context.Context, prio Priority) (start time.Time, wrote func(time.Time), err error) {
	if err := p.turn(ctx, prio); err != nil {
		return time.Time{}, nil, err
	}
	defer p.next()
	if d := time.Until(time.Unix(0, p.pauseEnd.Load())); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return time.Time{}, nil, ctx.Err()
		}
	}
	// Shared, a call's local delay is in its margin: the other instances
	// booked theirs against its booked start.
	m := p.jit.margin(p.shared != nil)
	if p.shared != nil {
		at, err := p.shared.Take(ctx, p.api, m)
		if err == nil {
			p.local.record(at, m) // so that pacing alone, should it come to that, knows these starts
			return at, func(w time.Time) {
				if !w.IsZero() {
					p.jit.sent(w.Sub(at))
				}
			}, nil
		}
		if ctx.Err() != nil {
			return time.Time{}, nil, ctx.Err()
		}
		// The shared schedule cannot be reached: pace this instance alone.
	}
	st, err := p.local.take(ctx, m)
	if err != nil {
		return time.Time{}, nil, err
	}
	at := st.at
	return at, func(w time.Time) {
		p.local.wrote(st, w)
		if !w.IsZero() {
			p.jit.sent(w.Sub(at))
		}
	}, nil
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

// refused handles a rate-limit refusal of the call that started at start:
// the margin grows, and every caller waits until DingTalk's window and the
// margin have passed since that start. The refused call arrived about half
// a round trip after it started, and the window that refused it has ended
// a window after that; waiting from the moment the refusal is heard, half
// a round trip later still, would waste the difference.
func (p *pacer) refused(start time.Time) {
	p.jit.refused()
	end := start.Add(qpsWindow + p.jit.margin(p.shared != nil)).UnixNano()
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
		l = newPacer(path, c.cfg.QPS, c.cfg.Slots)
		c.limiters[path] = l
	}
	return l
}

// PaceMargin is how much wider than DingTalk's one-second window the
// client now paces calls to api: what it has learned of how much their way
// there varies (see the top of pace.go).
func (c *Client) PaceMargin(api string) time.Duration {
	p := c.limiter(api)
	return p.jit.margin(p.shared != nil)
}
