package recall

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Run takes over the recalls a stopped engine left unfinished (Resume),
// at once and then every ResumeEvery, until ctx ends. A claim lapses a
// lease's TTL after its owner stops renewing it; with the embedded
// ledger, a restart finds its leases gone at once.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.ResumeEvery)
	defer t.Stop()
	for {
		r, err := e.Resume(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("resuming interrupted recalls", zap.Error(err))
		case r != nil:
			e.log.Info("resumed interrupted recalls", zap.String("receipt", r.Summary("en")))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
