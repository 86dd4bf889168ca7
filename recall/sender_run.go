package recall

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Run keeps what the Sender recorded current until ctx ends: it replays
// the spool into the ledger every ReplayEvery while it holds keys (a
// failure is logged when it changes, not every time), closes pending
// sends older than the recall window as unknown every minute
// (CloseStale), and watches the ledger's writes so that readiness comes
// back with the ledger, without traffic (WatchWrites).
func (s *Sender) Run(ctx context.Context) error {
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		s.WatchWrites(ctx)
	}()
	defer func() { <-watching }()
	replay := time.NewTicker(s.cfg.ReplayEvery)
	defer replay.Stop()
	stale := time.NewTicker(time.Minute)
	defer stale.Stop()
	var replayErr string
	s.closeStale(ctx)
	for {
		if err := s.ReplaySpool(ctx); err != nil && ctx.Err() == nil {
			if err.Error() != replayErr {
				s.log.Warn("spool not replayed yet", zap.Int("waiting", s.spool.Waiting()), zap.Error(err))
			}
			replayErr = err.Error()
		} else {
			replayErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-stale.C:
			s.closeStale(ctx)
		case <-replay.C:
		}
	}
}

// closeStale closes pending sends older than the recall window as
// unknown.
func (s *Sender) closeStale(ctx context.Context) {
	if _, err := s.CloseStale(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("closing stale pending sends", zap.Error(err))
	}
}
