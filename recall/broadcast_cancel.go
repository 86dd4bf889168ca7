package recall

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// Cancelling a broadcast is one ledger commit (CancelJob): every call not
// yet marked dispatched is refused at its last moment from then on, on
// whichever instance runs the job, so no call starts after the cancel is
// answered. Its answer is final but for the calls already dispatched (in
// flight, named by Job.InFlight); the audit record of the cancel is
// brought up to date once they land.

// Cancel stops a running broadcast: no call starts after it. What was sent
// stays, and is recallable by its batch id. cancelled reports whether this
// call stopped it (false: it had ended, or was cancelled before).
func (b *Broadcaster) Cancel(ctx context.Context, id, actor string) (j ledger.Job, cancelled bool, err error) {
	return stopJob(ctx, b.led, b.log, b.cfg.Now, id, actor, "")
}

// stopJob cancels broadcast id for actor and audits it (why, if set, says
// in the record's scope what stopped it: a recall of its batch). A
// broadcast not running is returned as it is, not audited again.
func stopJob(ctx context.Context, led jobLedger, log *zap.Logger, now func() time.Time, id, actor, why string) (ledger.Job, bool, error) {
	j, cancelled, err := led.CancelJob(ctx, id, actor)
	if err != nil || !cancelled {
		return j, false, err
	}
	log.Info("broadcast cancelled", zap.String("batch", id), zap.String("by", actor), zap.Int("sent", j.Sent),
		zap.Int("cancelled", j.Cancelled), zap.Int("calls_in_flight", len(j.InFlight())))
	wctx := context.WithoutCancel(ctx)
	scope := "batch " + id
	if why != "" {
		scope += " (" + why + ")"
	}
	rec, err := led.AppendAudit(wctx, ledger.AuditRecord{At: now(), Actor: actor, Action: "broadcast.cancel", Allowed: true,
		Scope: scope, Note: cancelNote(j)})
	if err != nil {
		log.Error("cancel not audited", zap.String("batch", id), zap.Error(err))
		return j, true, nil
	}
	cur, err := led.UpdateJob(wctx, id, func(j *ledger.Job) error { j.CancelAudit = rec.ID; return nil })
	if err == nil && len(j.InFlight()) > 0 && len(cur.InFlight()) == 0 { // they landed meanwhile
		if err := led.SetAuditNote(wctx, rec.ID, cancelNote(cur)); err != nil {
			log.Warn("cancel's audit record not brought up to date", zap.String("batch", id), zap.Error(err))
		}
	}
	return j, true, nil
}

// noteLanded brings a cancel's audit record up to date once the calls it
// left in flight have landed.
func (b *Broadcaster) noteLanded(ctx context.Context, j ledger.Job) {
	if err := b.led.SetAuditNote(ctx, j.CancelAudit, cancelNote(j)); err != nil {
		b.log.Warn("cancel's audit record not brought up to date", zap.String("batch", j.ID), zap.Error(err))
	}
}

// cancelNote is a cancelled broadcast's counts in words, for its audit
// record: final, but for the calls in flight it names.
func cancelNote(j ledger.Job) string {
	s := fmt.Sprintf("%d of %d recipients reached, %d refused, %d not sent (cancelled)", j.Sent, j.Recipients, j.Failed, j.Cancelled)
	if f := j.InFlight(); len(f) > 0 {
		return s + fmt.Sprintf("; %d more in %d call(s) already on the wire, counted when DingTalk answers", ledger.People(f), len(f))
	}
	if j.Pending() > 0 {
		return s + fmt.Sprintf("; %d in doubt (a call got no answer)", j.Pending())
	}
	return s
}
