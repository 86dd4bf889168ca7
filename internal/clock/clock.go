// Package clock is a clock that can be moved: real time shifted by an
// offset that Advance adds to, or a time that stands still until it is
// advanced. The demo lets a day pass in a moment with it; tests move the
// bot's time past a window, an expiry or a minute's count without
// sleeping. Production code takes the clock as a func() time.Time field
// (Clock.Now, or time.Now), never a global.
package clock

import (
	"sync"
	"time"
)

// Clock is real time plus an offset, or a stopped time plus an offset.
// The zero value is real time. It is safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	off     time.Duration
	stopped time.Time // when set, the clock stands here (plus off)
}

// Offset returns a clock that runs with real time, shifted by off.
func Offset(off time.Duration) *Clock { return &Clock{off: off} }

// Stopped returns a clock that stands at t until it is advanced.
func Stopped(t time.Time) *Clock { return &Clock{stopped: t} }

// Now reports the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped.IsZero() {
		return c.stopped.Add(c.off)
	}
	return time.Now().Add(c.off)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Stop makes the clock stand at t, forgetting what Advance added, until
// it is advanced again: a test that counts per minute stops it at the
// start of one, so that a slow machine never rolls the count over.
func (c *Clock) Stop(t time.Time) {
	c.mu.Lock()
	c.stopped, c.off = t, 0
	c.mu.Unlock()
}
