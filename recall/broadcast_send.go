package recall

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// step is one send call of a job, planned.
type step struct {
	entry   ledger.Entry
	targets []ledger.Chat
	tries   map[string]int // each user's calls so far (a retry step's)
}

// unmarkedError is a call stopped at the last moment because the ledger
// could not mark its step dispatched: nothing was sent, and the step is
// tried again once the ledger writes.
type unmarkedError struct{ err error }

func (e *unmarkedError) Error() string {
	return "the step could not be marked dispatched: " + e.err.Error()
}
func (e *unmarkedError) Unwrap() error { return e.err }

// dispatchTimeout bounds the write of a dispatch mark.
const dispatchTimeout = 10 * time.Second

// send makes one step's call and settles it. The client's guard marks the
// step dispatched just before the request is written, after its token and
// its turn in the pace: if the job was cancelled or taken over meanwhile,
// or this instance's lease lapsed, the call is not made.
func (b *Broadcaster) send(ctx context.Context, job string, m dingtalk.Message, st step, leaseValid func(time.Time) bool) {
	dispatched := false
	cctx := dingtalk.WithGuard(ctx, func() error {
		if !leaseValid(time.Now()) {
			return errLeaseLost
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dispatchTimeout)
		defer cancel()
		if _, err := b.led.DispatchStep(dctx, job, b.cfg.Owner, st.entry.ID); err != nil {
			var jse *ledger.JobStateError
			if errors.As(err, &jse) {
				return err
			}
			return &unmarkedError{err}
		}
		dispatched = true
		return nil
	})
	pause := b.cfg.LedgerBackoff
	for {
		r := b.call(cctx, m, st)
		var um *unmarkedError
		if errors.As(r.err, &um) && ctx.Err() == nil {
			b.stepErrors.Warn(b.log, "broadcast call not marked dispatched, so not made; it waits and is tried again", um.err)
			if sleep(ctx, pause) {
				pause = min(pause*2, maxLedgerBackoff)
				continue
			}
		}
		b.outcome(ctx, job, st, dispatched, r)
		return
	}
}

// callResult is what one step's call came to.
type callResult struct {
	key     string
	reached []string // for an oto step: the users DingTalk reached
	d       ledger.JobDelta
	err     error
}

// call makes the step's send call.
func (b *Broadcaster) call(ctx context.Context, m dingtalk.Message, st step) callResult {
	var r callResult
	e := st.entry
	if e.Chat.Family != ledger.OTO {
		if e.Chat.Family == ledger.Group {
			r.key, r.err = b.api.SendGroup(ctx, e.Chat.ConversationID, m)
		} else {
			r.key, r.err = b.api.SendPrivate(ctx, e.Chat.ConversationID, m)
		}
		if r.err == nil {
			r.d.Sent = 1
		}
		return r
	}
	users := make([]string, len(st.targets))
	for i, c := range st.targets {
		users[i] = c.UserID
	}
	res, err := b.api.SendOTOMany(ctx, users, m)
	if r.err = err; err != nil {
		return r
	}
	r.key, r.reached = res.Key, res.Reached(users)
	r.d.Sent, r.d.Failed = len(r.reached), len(res.Invalid)+len(res.Filtered)
	for _, u := range res.Invalid {
		r.d.Refused = append(r.d.Refused, ledger.Refusal{Target: u, Reason: "invalid"})
	}
	for _, u := range res.Filtered { // not delivered, and not tried again
		r.d.Refused = append(r.d.Refused, ledger.Refusal{Target: u, Reason: "filtered"})
	}
	for _, u := range res.FlowControlled {
		if tries := st.tries[u] + 1; tries < b.cfg.MaxTries {
			r.d.Retry = append(r.d.Retry, ledger.RetryUser{UserID: u, Tries: tries})
		} else {
			r.d.Failed++
			r.d.Refused = append(r.d.Refused, ledger.Refusal{Target: u, Reason: "flow_controlled"})
		}
	}
	if len(r.d.Retry) > 0 {
		r.d.RetryAt = b.cfg.Now().Add(b.cfg.RetryAfter)
	}
	return r
}

// outcome settles a step by what its call came to.
func (b *Broadcaster) outcome(ctx context.Context, job string, st step, dispatched bool, r callResult) {
	e := st.entry
	wctx := context.WithoutCancel(ctx)
	var jse *ledger.JobStateError
	stopped := errors.As(r.err, &jse) || errors.Is(r.err, errLeaseLost) || dingtalk.NotSent(r.err) && ctx.Err() != nil
	if stopped && b.cancelled(wctx, job) {
		// A cancel closed the step if it was planned; if its call had
		// been made and refused without effect, it is closed here.
		b.settle(wctx, job, e, ledger.Transition{To: ledger.SendFailed, Reason: ledger.ReasonCancelled}, ledger.JobDelta{Cancelled: e.Reach()})
		return
	}
	if stopped && !dispatched {
		return // still planned: whoever runs the job next sends it
	}
	d := r.d
	var t ledger.Transition
	switch err := r.err; {
	case err == nil && d.Sent == 0: // DingTalk reached nobody of the call
		t = ledger.Transition{To: ledger.SendFailed, Reason: "no recipient reached: invalid, filtered or flow-controlled"}
	case err == nil:
		t = ledger.Transition{To: ledger.Sent, Key: r.key}
		if e.Chat.Family == ledger.OTO && len(r.reached) != e.Reach() {
			t.Recipients = r.reached
		}
	case dingtalk.Ambiguous(err):
		b.log.Warn("broadcast call got no answer; its recipients stay pending", zap.String("batch", job), zap.Uint64("entry", e.ID), zap.Error(err))
		// In doubt, not in flight: its entry stays pending.
		if _, err := b.led.UpdateJob(wctx, job, func(j *ledger.Job) error { *j = j.CloseStep(e.ID); return nil }); err != nil {
			b.log.Warn("closing a broadcast step in doubt", zap.String("batch", job), zap.Error(err))
		}
		return
	case dingtalk.NotSent(err) && e.Chat.Family == ledger.OTO: // nobody got it: the users go round again
		t = ledger.Transition{To: ledger.SendFailed, Reason: "not sent: " + dingtalk.Describe(err, "en")}
		d = ledger.JobDelta{RetryAt: b.cfg.Now().Add(b.cfg.RetryAfter)}
		for _, c := range st.targets {
			if tries := st.tries[c.UserID] + 1; tries < b.cfg.MaxTries {
				d.Retry = append(d.Retry, ledger.RetryUser{UserID: c.UserID, Tries: tries})
			} else {
				d.Failed++
				d.Refused = append(d.Refused, ledger.Refusal{Target: c.UserID, Reason: "not_sent"})
			}
		}
	default: // refused: nobody of the call got it
		d = ledger.JobDelta{Failed: e.Reach()}
		t = ledger.Transition{To: ledger.SendFailed, Reason: failReason(err)}
		for _, c := range st.targets {
			target := c.UserID
			if c.Family != ledger.OTO {
				target = c.Key()
			}
			d.Refused = append(d.Refused, ledger.Refusal{Target: target, Reason: t.Reason})
		}
	}
	b.settle(wctx, job, e, t, d)
}

// cancelled reports whether a job is cancelled, as the ledger says.
func (b *Broadcaster) cancelled(ctx context.Context, job string) bool {
	j, err := b.led.GetJob(ctx, job)
	return err == nil && j.State == ledger.JobCancelled
}

// settle records a step's outcome, retrying into a failing ledger for a
// few seconds, then into the spool: a key DingTalk returned is never lost.
// Once the last call a cancel left in flight has landed, the cancel's
// audit record gets the final counts.
func (b *Broadcaster) settle(ctx context.Context, job string, e ledger.Entry, t ledger.Transition, d ledger.JobDelta) {
	var j ledger.Job
	err := retryWrite(ctx, 5*time.Second, func(ctx context.Context) (err error) {
		_, j, err = b.led.SettleStep(ctx, job, e.ID, t, d)
		return err
	})
	if err == nil {
		if j.State == ledger.JobCancelled && j.CancelAudit != 0 && len(j.InFlight()) == 0 {
			b.noteLanded(ctx, j)
		}
		return
	}
	if t.Key == "" || b.spool == nil {
		b.log.Error("broadcast step not recorded", zap.String("batch", job), zap.Uint64("entry", e.ID), zap.Error(err))
		return
	}
	serr := b.spool.AddOrHold(ledger.SpoolRecord{Seq: b.spool.NextSeq(), Entry: e, Key: t.Key, Recipients: t.Recipients, Job: job, Delta: &d})
	if serr != nil {
		b.log.Error("sent, but neither the ledger nor the spool's disk took the key: held in memory and retried", zap.String("batch", job),
			zap.Uint64("entry", e.ID), zap.String("process_query_key", t.Key), zap.Error(errors.Join(err, serr)))
	}
}
