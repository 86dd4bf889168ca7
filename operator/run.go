package operator

import (
	"context"
	"time"
)

// Run resumes the asynchronous recalls whose instance stopped
// (ResumeRecalls), at once and then every minute, until ctx ends.
func (o *Operator) Run(ctx context.Context) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		o.ResumeRecalls(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
