package httpapi

import (
	"context"
	"time"
)

// Run writes the summary of each finished minute's refused requests
// (FlushDenied), every 2 s, until ctx ends.
func (a *API) Run(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		a.FlushDenied(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
