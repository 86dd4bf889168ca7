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
//
// A lease that went unrenewed for two thirds of its TTL is never renewed
// again for the work that held it: the process may have been stopped
// (SIGSTOP, a VM paused, a long stall) while another instance took its
// claims over, and writing the lease again on waking would only hide that.
// The renewer starts a new epoch instead; work holding the old one stops
// calling DingTalk for good, and only a new claim (which writes the lease
// itself) starts work in the new epoch.
type lease struct {
	led   ledger.TempStore // the lease is a record in ledger.LeaseNS, written with PutTemp
	owner string
	ttl   time.Duration
	log   *zap.Logger

	mu      sync.Mutex
	holders int
	stop    chan struct{}
	done    chan struct{}
	last    atomic.Int64 // unix nanoseconds of the last successful write
	epoch   atomic.Int64 // bumped each time the lease lapsed
	lapsed  int64        // the renewer's: the last value of last it found lapsed
}

func (l *lease) init(led ledger.TempStore, owner string, ttl time.Duration, log *zap.Logger) {
	l.led, l.owner, l.ttl, l.log = led, owner, ttl, log
}

// renewed notes a successful write of the lease at t.
func (l *lease) renewed(t time.Time) { l.last.Store(t.UnixNano()) }

// fresh reports whether the lease was written within two thirds of its
// TTL: it then still holds, with a third to spare.
func (l *lease) fresh(now time.Time) bool {
	return now.Sub(time.Unix(0, l.last.Load())) < l.ttl*2/3
}

// hold keeps the lease renewed until the returned release is called;
// holds nest, and the last release stops the renewer and waits for it.
// valid reports whether the work under this hold may still call
// DingTalk: the lease is fresh and never lapsed since the hold began.
func (l *lease) hold() (release func(), valid func(now time.Time) bool) {
	l.mu.Lock()
	l.holders++
	if l.holders == 1 {
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.renew(l.stop, l.done)
	}
	epoch := l.epoch.Load()
	l.mu.Unlock()
	valid = func(now time.Time) bool { return l.epoch.Load() == epoch && l.fresh(now) }
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
	}, valid
}

func (l *lease) renew(stop, done chan struct{}) {
	defer close(done)
	every := l.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if last := l.last.Load(); time.Since(time.Unix(0, last)) >= l.ttl*2/3 {
			if last != l.lapsed {
				l.lapsed = last
				l.epoch.Add(1)
				l.log.Warn("lease lapsed (the process stalled or the ledger was unreachable): the work that held it stops for good; another instance may have taken its claims over")
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := l.led.PutTemp(ctx, ledger.LeaseNS, l.owner, nil, l.ttl)
		cancel()
		if err != nil {
			l.log.Warn("lease not renewed; work stops before it lapses", zap.Error(err))
			continue
		}
		l.renewed(time.Now())
	}
}
