package recall

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// writes is what the Sender knows of the ledger's writes, for readiness.
type writes struct {
	ok, failed atomic.Int64  // unix nanoseconds of the last send's first write that succeeded, failed
	failing    chan struct{} // a first write failed: WatchWrites probes
}

// noteWrite remembers whether the ledger took the last send's first
// write; a failure wakes WatchWrites.
func (s *Sender) noteWrite(err error) {
	now := time.Now().UnixNano()
	if err == nil {
		s.writes.ok.Store(now)
		return
	}
	s.writes.failed.Store(now)
	select {
	case s.writes.failing <- struct{}{}:
	default: // WatchWrites has been told already
	}
}

// Writing reports whether sends can be recorded: false when the last
// send's first write (replaying the spool, then the pending entry) failed
// and no send or probe (WatchWrites) has succeeded since. Readiness
// reports it: a ledger that answers reads but refuses writes (a full
// disk, too few replicas) refuses every send.
func (s *Sender) Writing() bool { return s.writes.failed.Load() <= s.writes.ok.Load() }

// WatchWrites brings Writing back by itself once the ledger takes writes
// again. Without it, a ledger that recovered (disk freed, replica back)
// left Writing false, and /readyz not ready, until a send succeeded:
// and a load balancer that routes only to ready instances never sends
// one. While Writing is false it makes the first write a send would make
// (replaying the spool), then a probe write (ledger.Store.Probe), first
// ProbeEvery after the failure, then at doubling intervals up to
// ProbeMax; the first that succeeds makes Writing true, unless a send
// failed meanwhile. It returns when ctx ends.
func (s *Sender) WatchWrites(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.writes.failing:
		}
		pause := s.cfg.ProbeEvery
		for !s.Writing() {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			pause = min(2*pause, s.cfg.ProbeMax)
			if s.probe(ctx) {
				s.log.Info("the ledger takes writes again")
			}
		}
	}
}

// probe makes a send's first write and a probe write, and reports
// whether that made Writing true.
func (s *Sender) probe(ctx context.Context) bool {
	started := time.Now().UnixNano()
	pctx, cancel := context.WithTimeout(ctx, s.cfg.ProbeMax)
	defer cancel()
	err := s.tryReplaySpool(pctx)
	if err == nil {
		err = s.led.Probe(pctx)
	}
	if err != nil {
		s.log.Debug("the ledger still refuses writes", zap.Error(err))
		return false
	}
	if s.writes.failed.Load() > started || s.Writing() {
		return false // a send failed while it ran (it wakes WatchWrites again), or one succeeded
	}
	s.writes.ok.Store(time.Now().UnixNano())
	return true
}
