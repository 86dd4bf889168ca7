package dingtalk

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// PaceWindow is the window a limit of qps calls a second is kept in: at
// most calls starts within width plus the margin (width is one second for
// a whole qps; a fractional limit keeps its calls in proportion), spaced
// width ÷ calls apart but up to burst back to back after a pause. Shared
// Slots must use the same figures.
func PaceWindow(qps float64) (calls int, width time.Duration, burst int) {
	calls = max(1, int(math.Floor(qps)))
	width = time.Duration(float64(calls) / qps * float64(time.Second))
	return calls, width, max(1, calls/2)
}

// maxMargin bounds any margin; a window is never widened by more.
const maxMargin = 500 * time.Millisecond

// schedule is one API's call starts in this process: the window (no width
// plus margin holds more than calls starts) and the spacing within it (the
// limit's own rate, width ÷ calls apart, up to burst back to back after a
// pause). A start is moved to the moment its request was written once
// that is known: a call that left late (a busy machine, a new connection's
// handshake) is placed where it really left, so local delays need no
// margin; until then it counts as leaving now.
type schedule struct {
	calls int
	width time.Duration
	burst int

	mu     sync.Mutex
	starts []*start
	tat    time.Time   // when the next call is due at the limit's rate
	ends   []time.Time // scratch for earliest
}

// start is one call's start and the half of the margin it started with:
// how much later than usual it may reach DingTalk.
type start struct {
	at      time.Time // when it started; once written, when its request was written
	half    time.Duration
	pending bool // started, its request not written yet: it may leave at any moment
}

func newSchedule(qps float64) *schedule {
	s := &schedule{}
	s.calls, s.width, s.burst = PaceWindow(qps)
	return s
}

// earliest is the earliest moment at or after now that a call whose way
// there varies by up to m may start.
//
// Call a (started earlier, with margin ma) and call b (margin mb) may each
// reach DingTalk up to half their margin earlier or later than usual;
// started width + max(mb, ma/2 + mb/2) apart, b arrives at least width
// after a, whether a's margin was wider than b's (another instance, or
// jitter that has since calmed) or narrower (jitter that has since grown).
// b may start when fewer than calls starts would end after it: then no
// calls+1 arrivals fit in one window.
func (s *schedule) earliest(now time.Time, m time.Duration) time.Time {
	cut := now.Add(-s.width - maxMargin)
	s.starts = slices.DeleteFunc(s.starts, func(st *start) bool { return !st.pending && st.at.Before(cut) })
	at := now
	if len(s.starts) >= s.calls {
		s.ends = s.ends[:0]
		for _, st := range s.starts {
			from := st.at
			if st.pending {
				from = later(from, now)
			}
			s.ends = append(s.ends, from.Add(s.width+max(m, st.half+m/2)))
		}
		slices.SortFunc(s.ends, func(a, b time.Time) int { return a.Compare(b) })
		if e := s.ends[len(s.ends)-s.calls]; e.After(at) {
			at = e
		}
	}
	if due := s.tat.Add(-time.Duration(s.burst-1) * s.interval()); due.After(at) {
		at = due
	}
	return at
}

// interval is the limit's own rate: width ÷ calls.
func (s *schedule) interval() time.Duration { return s.width / time.Duration(s.calls) }

// add counts a call of margin m started at at; pending if its request is
// not written yet.
func (s *schedule) add(at time.Time, m time.Duration, pending bool) *start {
	st := &start{at: at, half: m / 2, pending: pending}
	s.starts = append(s.starts, st)
	s.tat = later(s.tat, at).Add(s.interval())
	return st
}

// record counts a call started elsewhere (the shared schedule), so that
// pacing alone later knows of it.
func (s *schedule) record(at time.Time, m time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(at, m, false)
}

// wrote settles a pending start: its request was written at w, or, for a
// zero w, never (it did not reach DingTalk, and counts no more).
func (s *schedule) wrote(st *start, w time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.IsZero() {
		s.starts = slices.DeleteFunc(s.starts, func(x *start) bool { return x == st })
		return
	}
	st.at, st.pending = later(st.at, w), false
}

// take waits until a call of margin m may start and counts it started, or
// returns ctx's error. The moment is worked out again on waking: a call
// that was still pending may have been written since, later.
func (s *schedule) take(ctx context.Context, m time.Duration) (*start, error) {
	for {
		s.mu.Lock()
		now := time.Now()
		at := s.earliest(now, m)
		if !at.After(now) {
			st := s.add(now, m, true)
			s.mu.Unlock()
			return st, nil
		}
		s.mu.Unlock()
		t := time.NewTimer(at.Sub(now))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
