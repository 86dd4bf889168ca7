package dingtalktest

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// A real DingTalk is tens to hundreds of milliseconds away, and the time a
// request takes to get there varies from one call to the next. Its rate
// limit counts a call when the call arrives, not when it was sent: two
// calls sent a second apart can arrive less than a second apart. Options.
// Latency and Options.Jitter make the emulator that far away: half of the
// round trip passes before a call takes effect (and is counted against the
// limit), half before its answer reaches the caller, each half varying
// uniformly by up to ±Jitter.

// SetLatency changes the round trip (and its jitter) of the OpenAPI calls
// that arrive from now on; see Options.Latency.
func (s *Server) SetLatency(rtt, jitter time.Duration) {
	s.mu.Lock()
	s.opts.Latency, s.opts.Jitter = max(rtt, 0), max(jitter, 0)
	s.notifyLocked()
	s.mu.Unlock()
}

// halfTrip is one way of a round trip (there: to DingTalk, else back):
// half of Latency, varied uniformly by up to ±Jitter, never below zero; the
// way back is steady with Options.SteadyWayBack.
func (s *Server) halfTrip(there bool) time.Duration {
	s.mu.Lock()
	lat, jit := s.opts.Latency, s.opts.Jitter
	if !there && s.opts.SteadyWayBack {
		jit = 0
	}
	s.mu.Unlock()
	d := lat / 2
	if jit > 0 {
		d += time.Duration(rand.Int64N(2*int64(jit)+1)) - jit
	}
	return max(d, 0)
}

// travel waits d, one way of a call's round trip. It reports false if the
// caller hung up or the server closed meanwhile.
func (s *Server) travel(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

// MaxInFlight is the most OpenAPI calls the emulator was answering at one
// moment (a call is in flight from its request's arrival on the socket to
// its answer, both halves of Latency included), since it started or since
// the last ResetCalls.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakInflight
}

// BusiestWindow is the most calls to path the rate limit counted within
// any window of length w (half-open, as the limit's own sliding window),
// by the moments they took effect: the figure DingTalk's limit judges.
// Calls it refused are not counted, nor calls it never saw (a missing or
// invalid token).
func (s *Server) BusiestWindow(path string, w time.Duration) int {
	s.mu.Lock()
	var at []time.Time
	for i := range s.calls {
		if c := &s.calls[i]; c.Path == path && !c.counted.IsZero() {
			at = append(at, c.counted)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i, j := 0, 0; j < len(at); j++ {
		for at[j].Sub(at[i]) >= w {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}
