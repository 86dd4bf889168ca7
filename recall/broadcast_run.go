package recall

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// Run runs broadcasts until ctx ends: new ones at once, and every Every
// any running one without a live runner (another instance that stopped).
// Jobs run one after another; each job's calls go a few at a time.
func (b *Broadcaster) Run(ctx context.Context) error {
	t := time.NewTicker(b.cfg.Every)
	defer t.Stop()
	for {
		b.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-b.wake:
		}
	}
}

// RunOnce runs every running broadcast this instance can take, to its end
// or until ctx ends, and returns how many it ran. A RunOnce while another
// runs returns 0 at once.
func (b *Broadcaster) RunOnce(ctx context.Context) int {
	if !b.running.TryLock() {
		return 0
	}
	defer b.running.Unlock()
	jobs, err := b.led.Jobs(ctx, ledger.JobRunning)
	if err != nil {
		if ctx.Err() == nil {
			b.listErrors.Warn(b.log, "listing broadcasts", err)
		}
		return 0
	}
	b.listErrors.Reset()
	slices.SortFunc(jobs, func(x, y ledger.Job) int { return x.Created.Compare(y.Created) })
	ran := 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		j, mine, err := b.led.TakeJob(ctx, j.ID, ledger.Claimant{Owner: b.cfg.Owner, At: b.cfg.Now(), LeaseTTL: b.cfg.LeaseTTL})
		if err != nil || !mine {
			continue
		}
		b.lease.renewed(time.Now())
		ran++
		b.run(ctx, j)
	}
	return ran
}

// run takes a job's planned steps, then its remaining steps in order, a
// few calls in flight, then its retries as they come due, and marks it
// done. A step the ledger cannot write waits and is tried again, with a
// backoff, for as long as the job is this instance's.
func (b *Broadcaster) run(ctx context.Context, j ledger.Job) {
	release, leaseValid := b.lease.hold()
	defer release()
	ctx = dingtalk.WithPriority(ctx, dingtalk.Bulk)
	pause := b.cfg.LedgerBackoff
	for ctx.Err() == nil {
		stalled := b.pass(ctx, j, leaseValid)
		if ctx.Err() != nil || !leaseValid(time.Now()) {
			return
		}
		// Calls still in flight at the end of a pass may have queued
		// flow-controlled users: another pass takes them.
		cur, err := b.led.GetJob(ctx, j.ID)
		switch {
		case err != nil:
			stalled = true
		case cur.State != ledger.JobRunning || cur.Owner != b.cfg.Owner:
			return
		case cur.Finished():
			b.finish(ctx, j.ID)
			return
		default:
			j = cur
		}
		if !stalled {
			pause = b.cfg.LedgerBackoff
			continue
		}
		if !sleep(ctx, pause) {
			return
		}
		pause = min(pause*2, maxLedgerBackoff)
	}
}

// maxLedgerBackoff bounds the wait between tries of a step the ledger
// could not write.
const maxLedgerBackoff = 10 * time.Second

// finish marks a job done.
func (b *Broadcaster) finish(ctx context.Context, id string) {
	cur, err := b.led.UpdateJob(ctx, id, func(j *ledger.Job) error {
		if j.State == ledger.JobRunning && j.Finished() {
			j.State = ledger.JobDone
		}
		return nil
	})
	if err == nil && cur.State == ledger.JobDone {
		b.log.Info("broadcast done", zap.String("batch", cur.ID), zap.Int("recipients", cur.Recipients), zap.Int("sent", cur.Sent),
			zap.Int("failed", cur.Failed), zap.Int("pending", cur.Pending()), zap.Int("calls", cur.Calls))
	}
}

// pass plans every step it can, in order, with a few workers making the
// calls, and waits for them. It reports whether it stopped because the
// ledger could not write a step (run then waits before the next pass).
func (b *Broadcaster) pass(ctx context.Context, j ledger.Job, leaseValid func(time.Time) bool) (stalled bool) {
	m := dingtalk.Message{MsgKey: j.MsgKey, MsgParam: []byte(j.MsgParam)}
	work := make(chan step)
	var wg sync.WaitGroup
	gate := newGate(b.api, b.cfg.Concurrency, sendAPIs...) // a worker takes a step only with a slot in flight
	for range cmp.Or(b.cfg.Concurrency, dingtalk.MaxInFlight) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for gate.Acquire(ctx) == nil {
				st, ok := <-work
				if ok {
					b.send(ctx, j.ID, m, st, leaseValid)
				}
				gate.Release()
				if !ok {
					return
				}
			}
		}()
	}
	stalled = b.plan(ctx, j, work, leaseValid)
	close(work)
	wg.Wait()
	return stalled
}

// plan hands the workers the job's planned steps first (left by a runner
// that stopped, or by this one), then plans each next step (StartStep)
// and hands it on. A step planned and never handed on stays planned:
// whoever runs the job next sends it.
func (b *Broadcaster) plan(ctx context.Context, j ledger.Job, work chan<- step, leaseValid func(time.Time) bool) (stalled bool) {
	for _, o := range j.Planned() {
		e, err := b.led.Get(ctx, o.Entry)
		if err != nil {
			b.stepErrors.Warn(b.log, "a planned broadcast step could not be read; it waits and is tried again", err)
			return true
		}
		if e.State != ledger.Pending { // settled by other means (a spool replay): no longer open
			_, _ = b.led.UpdateJob(ctx, j.ID, func(j *ledger.Job) error { *j = j.CloseStep(e.ID); return nil })
			continue
		}
		if !handOff(ctx, work, step{entry: e, targets: e.Chats(), tries: triesOf(e, o)}) {
			return false
		}
	}
	next := j.Next
	var targets [][]ledger.Chat
	for ctx.Err() == nil {
		if !leaseValid(time.Now()) {
			b.log.Warn("broadcast paused: this instance could not renew its lease", zap.String("batch", j.ID))
			return false
		}
		var st step
		if next < j.Steps {
			if len(targets) == 0 {
				var err error
				if targets, err = b.led.JobSteps(ctx, j.ID, next, 256); err != nil || len(targets) == 0 {
					b.stepErrors.Warn(b.log, "broadcast steps unreadable; they wait and are tried again", errors.Join(err, errNoSteps))
					return true
				}
			}
			st.targets, targets = targets[0], targets[1:]
		} else if !b.retryDue(ctx, &j) {
			return false
		} else {
			st.tries = map[string]int{}
			for _, u := range j.Retry[:min(len(j.Retry), dingtalk.MaxRecipients)] {
				st.tries[u.UserID] = u.Tries
			}
		}
		e, nj, err := b.led.StartStep(ctx, j.ID, b.cfg.Owner, next, b.entry(j, st.targets))
		var jse *ledger.JobStateError
		switch {
		case errors.As(err, &jse):
			b.log.Info("broadcast stopped", zap.String("batch", j.ID), zap.String("why", jse.Why))
			return false
		case err != nil:
			b.stepErrors.Warn(b.log, "broadcast step not written; it waits and is tried again", err)
			return true
		}
		b.stepErrors.Reset()
		if next >= j.Steps {
			st.targets = e.Chats() // a retry's users came off the job's list
		} else {
			next++
		}
		st.entry, j = e, nj
		if !handOff(ctx, work, st) {
			return false
		}
	}
	return false
}

var errNoSteps = errors.New("no steps where the job says there are some")

// handOff gives a planned step to a worker, unless ctx ends first.
func handOff(ctx context.Context, work chan<- step, st step) bool {
	select {
	case work <- st:
		return true
	case <-ctx.Done():
		return false
	}
}

// triesOf is a planned step's users' calls so far, by user.
func triesOf(e ledger.Entry, o ledger.OpenStep) map[string]int {
	tries := map[string]int{}
	for i, c := range e.Chats() {
		if i < len(o.Tries) {
			tries[c.UserID] = o.Tries[i]
		}
	}
	return tries
}

// retryDue waits for the job's flow-controlled users to come due, and
// reports whether a retry step is due now (false: nothing left to retry).
func (b *Broadcaster) retryDue(ctx context.Context, j *ledger.Job) bool {
	cur, err := b.led.GetJob(ctx, j.ID)
	if err != nil || cur.State != ledger.JobRunning || len(cur.Retry) == 0 {
		return false
	}
	*j = cur
	if d := j.RetryAt.Sub(b.cfg.Now()); d > 0 && !sleep(ctx, d) {
		return false
	}
	return true
}

// sleep waits d, or less if ctx ends first; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// entry is the pending entry of a step to targets (a retry step's users
// are filled in by StartStep).
func (b *Broadcaster) entry(j ledger.Job, targets []ledger.Chat) ledger.Entry {
	now := b.cfg.Now()
	e := ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}, MsgKey: j.MsgKey, Excerpt: j.Excerpt, ContentHash: j.ContentHash,
		SentAt: now, Origin: ledger.OriginAPI, Actor: j.Actor, BatchID: j.ID}
	switch {
	case len(targets) == 1 && targets[0].Family != ledger.OTO:
		e.Chat = targets[0]
	case len(targets) > 0:
		e.Recipients = make([]string, len(targets))
		for i, c := range targets {
			e.Recipients[i] = c.UserID
		}
	}
	if j.ExpiresIn > 0 {
		e.ExpiresAt = now.Add(j.ExpiresIn)
	}
	return e
}
