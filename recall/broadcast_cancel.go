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

// stopJob cancels broadcast id for actor and audits it (why, if set, is
// the code of what stopped it: "stopped_by_recall"). A
// broadcast not running is returned as it is, not audited again.
func stopJob(ctx context.Context, led jobLedger, log *zap.Logger, now func() time.Time, id, actor, why string) (ledger.Job, bool, error) {
	j, cancelled, err := led.CancelJob(ctx, id, actor)
	if err != nil || !cancelled {
		return j, false, err
	}
	log.Info("broadcast cancelled", zap.String("batch", id), zap.String("by", actor), zap.Int("sent", j.Sent),
		zap.Int("cancelled", j.Cancelled), zap.Int("calls_in_flight", len(j.InFlight())))
	wctx := context.WithoutCancel(ctx)
	rec, err := led.AppendAudit(wctx, ledger.AuditRecord{At: now(), Actor: actor, Action: "broadcast.cancel", Allowed: true,
		About: &ledger.AuditAbout{Batch: id}, Why: why, Note: cancelNote(j)})
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

// cancelNote is a cancelled broadcast's counts, for its audit record:
// final, but for the calls in flight it names. They are facts, not words
// (cancelFacts), put in words when the record is read (CancelWords).
func cancelNote(j ledger.Job) string {
	f := j.InFlight()
	return fmt.Sprintf(cancelFacts, j.Sent, j.Recipients, j.Failed, j.Cancelled, ledger.People(f), len(f), j.Pending())
}

// cancelFacts is the form of a cancel's counts in its audit note: sent,
// recipients, refused, cancelled, people and calls in flight, in doubt.
const cancelFacts = "counts:%d/%d/%d/%d/%d/%d/%d"

// cancelWords is a cancel's counts (cancelFacts) in locale; ok is false
// for a note of another form (an older record's words).
func cancelWords(note, locale string) (words string, ok bool) {
	var sent, recipients, failed, cancelled, people, calls, pending int
	if n, _ := fmt.Sscanf(note, cancelFacts, &sent, &recipients, &failed, &cancelled, &people, &calls, &pending); n != 7 {
		return "", false
	}
	if locale != "en" {
		s := fmt.Sprintf("已送达 %d / %d 人，失败 %d，取消 %d", sent, recipients, failed, cancelled)
		switch {
		case calls > 0:
			s += fmt.Sprintf("；另有 %d 人在 %d 次已发出的调用中，待钉钉应答后计入", people, calls)
		case pending > 0:
			s += fmt.Sprintf("；%d 人结果未知（调用没有应答）", pending)
		}
		return s, true
	}
	s := fmt.Sprintf("%d of %d recipients reached, %d refused, %d not sent (cancelled)", sent, recipients, failed, cancelled)
	switch {
	case calls > 0:
		s += fmt.Sprintf("; %d more in %s already on the wire, counted when DingTalk answers", people, plural(calls, "call", "calls"))
	case pending > 0:
		s += fmt.Sprintf("; %d in doubt (a call got no answer)", pending)
	}
	return s, true
}
