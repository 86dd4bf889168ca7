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
// pause).
type schedule struct {
	calls int
	width time.Duration
	burst int

	mu     sync.Mutex
	starts []start     // recent starts, booked in order
	tat    time.Time   // when the next call is due at the limit's rate
	ends   []time.Time // scratch for reserve
}

// start is one booked call start and the half of the margin it was booked
// with: how much later than usual it may reach DingTalk.
type start struct {
	at   time.Time
	half time.Duration
}

func newSchedule(qps float64) *schedule {
	s := &schedule{}
	s.calls, s.width, s.burst = PaceWindow(qps)
	return s
}

// reserve books the earliest start at or after now for a call whose way
// there varies by up to m, and returns it.
//
// Call a (booked earlier, with margin ma) and call b (margin mb) may each
// reach DingTalk up to half their margin earlier or later than usual;
// started width + max(mb, ma/2 + mb/2) apart, b arrives at least width
// after a, whether a's margin was wider than b's (another instance, or
// jitter that has since calmed) or narrower (jitter that has since grown).
// b may start when fewer than calls booked starts would end after it: then
// no calls+1 arrivals fit in one window.
func (s *schedule) reserve(now time.Time, m time.Duration) time.Time {
	cut := now.Add(-s.width - maxMargin)
	i := 0
	for i < len(s.starts) && s.starts[i].at.Before(cut) {
		i++
	}
	s.starts = append(s.starts[:0], s.starts[i:]...)
	at := now
	if len(s.starts) >= s.calls {
		s.ends = s.ends[:0]
		for _, st := range s.starts {
			s.ends = append(s.ends, st.at.Add(s.width+max(m, st.half+m/2)))
		}
		slices.SortFunc(s.ends, func(a, b time.Time) int { return a.Compare(b) })
		if e := s.ends[len(s.ends)-s.calls]; e.After(at) {
			at = e
		}
	}
	interval := s.width / time.Duration(s.calls)
	if due := s.tat.Add(-time.Duration(s.burst-1) * interval); due.After(at) {
		at = due
	}
	s.tat = later(s.tat, at).Add(interval)
	s.starts = append(s.starts, start{at: at, half: m / 2})
	return at
}

// record notes a start booked elsewhere (the shared schedule), so that
// pacing alone later counts it.
func (s *schedule) record(at time.Time, m time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = append(s.starts, start{at: at, half: m / 2})
	s.tat = later(s.tat, at).Add(s.width / time.Duration(s.calls))
}

// take books a start for a call with margin m, waits for it and returns
// it, or returns ctx's error (and gives the start back).
func (s *schedule) take(ctx context.Context, m time.Duration) (time.Time, error) {
	s.mu.Lock()
	at := s.reserve(time.Now(), m)
	s.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return at, nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return at, nil
	case <-ctx.Done():
		s.mu.Lock()
		if i := slices.IndexFunc(s.starts, func(st start) bool { return st.at.Equal(at) }); i >= 0 {
			s.starts = slices.Delete(s.starts, i, i+1)
		}
		s.mu.Unlock()
		return time.Time{}, ctx.Err()
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
