package stream

import "sync/atomic"

// Status is the Stream connection's state, as far as the SDK tells (see
// sdklog.go). The Listener keeps it; readiness checks, /status and the
// metrics read it. It is made before the Listener, so that what reads it
// (the commands the Listener runs among them) can be built first.
type Status struct {
	up      atomic.Bool
	stopped atomic.Bool
}

// Connected reports whether the Stream connection is up.
func (s *Status) Connected() bool { return !s.stopped.Load() && s.up.Load() }
