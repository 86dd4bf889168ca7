package alerts

import (
	"context"
	"sync"
	"time"
)

// bodyBudget bounds the bytes of notifications being read and decoded at
// once. A notification's decoded form takes several times its body (each
// label a map entry, each string its own), so without a bound a few dozen
// large notifications in parallel take gigabytes; with it, one that would
// go past waits its turn a while and is then answered 503 (Retry-After),
// which Alertmanager and Grafana retry.
type bodyBudget struct {
	mu    sync.Mutex
	used  int64
	limit int64
	freed chan struct{} // closed, and replaced, whenever bytes are given back
}

func newBodyBudget(limit int64) *bodyBudget {
	return &bodyBudget{limit: limit, freed: make(chan struct{})}
}

// take takes n bytes of the budget (a body larger than all of it takes
// all of it), waiting up to wait for them; false when they did not come
// in time or ctx ended.
func (b *bodyBudget) take(ctx context.Context, n int64, wait time.Duration) bool {
	n = min(max(n, 1), b.limit)
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		b.mu.Lock()
		if b.used+n <= b.limit {
			b.used += n
			b.mu.Unlock()
			return true
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// give gives back n bytes taken with take.
func (b *bodyBudget) give(n int64) {
	n = min(max(n, 1), b.limit)
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}
