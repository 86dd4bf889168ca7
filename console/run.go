package console

import (
	"context"
	"time"
)

// Run writes the summary of each finished minute's refused logins
// (FlushRefused), every 2 s, until ctx ends.
func (c *Console) Run(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		c.FlushRefused(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
