package ledger

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Retention prunes a store in the background.
type Retention struct {
	// Age is how long entries and audit records are kept; default 30 days.
	// Recall only works for about 24 h: the rest is for audit and receipts.
	Age time.Duration
	// Every is how often to prune; default one hour.
	Every time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Run prunes s every r.Every until ctx ends. Each pass deletes in small
// transactions (see Prune), so writers are never blocked for long.
func (r Retention) Run(ctx context.Context, s AdminStore, log *zap.Logger) {
	if r.Age <= 0 {
		r.Age = 30 * 24 * time.Hour
	}
	if r.Every <= 0 {
		r.Every = time.Hour
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		n, err := s.Prune(ctx, r.Now().Add(-r.Age))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("ledger prune failed", zap.Error(err))
		case n > 0:
			log.Info("ledger pruned", zap.Int("entries", n), zap.Duration("age", r.Age))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
