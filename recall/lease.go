package recall

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// NewOwner returns a name for an engine's claims that no other process
// shares: host, process id and a random suffix.
func NewOwner() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "host"
	}
	var b [3]byte
	_, _ = randRead(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// lease keeps an engine's claim lease (ledger.LeaseNS) alive while it
// recalls. A claim writes the lease in the same commit; while any recall
// runs, a renewer writes it again every third of its TTL. An engine that
// cannot renew stops calling DingTalk before the lease can lapse, so that
// an engine taking its claims over never calls for a key it still works on.
type lease struct {
	mu      sync.Mutex
	holders int
	stop    chan struct{}
	done    chan struct{}
	last    atomic.Int64 // unix nanoseconds of the last successful write
}

// renewed notes a successful write of the lease at t.
func (l *lease) renewed(t time.Time) { l.last.Store(t.UnixNano()) }

// fresh reports whether the lease was written within two thirds of its
// TTL: it then still holds, with a third to spare.
func (l *lease) fresh(now time.Time, ttl time.Duration) bool {
	return now.Sub(time.Unix(0, l.last.Load())) < ttl*2/3
}

// hold keeps e's lease renewed until the returned release is called;
// holds nest, and the last release stops the renewer and waits for it.
func (l *lease) hold(e *Engine) (release func()) {
	l.mu.Lock()
	l.holders++
	if l.holders == 1 {
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.renew(e, l.stop, l.done)
	}
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.holders--; l.holders == 0 {
				close(l.stop)
				<-l.done
			}
		})
	}
}

func (l *lease) renew(e *Engine, stop, done chan struct{}) {
	defer close(done)
	every := e.cfg.LeaseTTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := e.led.PutTemp(ctx, ledger.LeaseNS, e.cfg.Owner, nil, e.cfg.LeaseTTL)
		cancel()
		if err != nil {
			e.log.Warn("claim lease not renewed; recalls stop before it lapses", zap.Error(err))
			continue
		}
		l.renewed(time.Now())
	}
}
