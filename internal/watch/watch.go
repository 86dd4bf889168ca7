// Package watch is what tests use to follow work that runs beside them:
// Until polls a condition nothing signals (state inside a bot, a process
// seen from outside), and Buffer is an output a test reads while another
// goroutine or process writes it. Where an event can be waited on (the
// emulator's WaitUntil, a channel), tests wait on it instead.
package watch

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// tick is how often Until looks again: short, so a test waits little
// past the moment its condition holds.
const tick = 5 * time.Millisecond

// Until returns nil once cond holds, or ctx's error when ctx ends first.
func Until(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Buffer is a bytes.Buffer that one goroutine may write while another
// reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
