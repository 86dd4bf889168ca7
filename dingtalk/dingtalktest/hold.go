package dingtalktest

import (
	"context"
	"sync"
)

// Hold keeps back the answers of some calls until Release: calls that took
// effect on DingTalk's side while their caller waits, for exactly as long
// as a test needs to do something in between (kill the ledger's primary,
// stop an instance) however slow the machine is. A timed DelayAnswer
// would let the answers through early on a busy machine.
type Hold struct {
	srv     *Server
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	want    int
	held    int
}

// HoldAnswers makes the next n calls to path (or AnyAPI) take effect at
// once and then wait, unanswered, until the returned Hold is released (or
// the caller gives up, or the server closes). They are recorded as applied,
// with the code "late", when they take effect; InFlight counts them.
func (s *Server) HoldAnswers(path string, n int) *Hold {
	h := &Hold{srv: s, release: make(chan struct{}), want: n}
	s.faults.mu.Lock()
	for range n {
		s.faults.held[path] = append(s.faults.held[path], h)
	}
	s.faults.mu.Unlock()
	s.notify()
	return h
}

// Wait returns once every call the hold was armed for has taken effect and
// is waiting for Release, or with ctx's error.
func (h *Hold) Wait(ctx context.Context) error {
	return h.srv.WaitUntil(ctx, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.held >= h.want
	})
}

// Release lets the held calls answer, and any later call the hold catches
// answer at once. Releasing twice is harmless.
func (h *Hold) Release() { h.once.Do(func() { close(h.release) }) }

// caught counts one more call held, and wakes Wait.
func (h *Hold) caught() {
	h.mu.Lock()
	h.held++
	h.mu.Unlock()
	h.srv.notify()
}

func (f *faultSet) takeHold(path string) *Hold {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range []string{path, AnyAPI} {
		if q := f.held[p]; len(q) > 0 {
			f.held[p] = q[1:]
			return q[0]
		}
	}
	return nil
}
