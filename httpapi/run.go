package httpapi

import (
	"context"
	"time"
)

// Run does the API's periodic work until ctx ends: every minute it
// resumes the asynchronous recalls whose instance stopped
// (ResumeRecalls), at once the first time, and every 2 s it writes the
// summary of a finished minute's refused requests (FlushDenied).
func (a *API) Run(ctx context.Context) error {
	resume := time.NewTicker(time.Minute)
	defer resume.Stop()
	flush := time.NewTicker(2 * time.Second)
	defer flush.Stop()
	a.ResumeRecalls(ctx)
	for {
		a.FlushDenied(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-resume.C:
			a.ResumeRecalls(ctx)
		case <-flush.C:
		}
	}
}
