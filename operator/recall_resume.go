package operator

import (
	"context"
	"encoding/json"
	"errors"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// An asynchronous recall whose instance stopped (a crash, a kill, a
// shutdown past its grace) is finished by another run, as itself: the
// same record, the same actor and scope in the audit trail. Each running
// recall is marked in the ledger (Mark) with its selection beside it
// (recallPlanNS); its engine's lease says whether its instance lives.
// ResumeRecalls, run at start and every minute, takes over those whose
// lease is gone, one instance each (ClaimOnce on the record and its dead
// owner), and finishes them with Engine.ResumeJob.

// recallPlanNS keeps the selection of each asynchronous recall, so that
// it can be resumed.
const recallPlanNS = "recallplans"

// resumable is what an asynchronous recall resumes: a selection of keys,
// a batch or ids as it was; a chat's last N or since as the entries the
// plan chose (a later "last 5" would choose others).
func resumable(sel recall.Selection, plan *recall.Receipt) recall.Selection {
	if len(sel.Keys) > 0 || sel.BatchID != "" || len(sel.IDs) > 0 {
		return sel
	}
	out := recall.Selection{Matching: sel.Matching}
	for _, it := range plan.Items {
		if it.Entry.ID != 0 {
			out.IDs = append(out.IDs, it.Entry.ID)
		}
	}
	return out
}

func (o *Operator) putRecallPlan(ctx context.Context, id string, sel recall.Selection) error {
	b, err := json.Marshal(sel)
	if err != nil {
		return err
	}
	return o.led.PutTemp(ctx, recallPlanNS, id, b, recallJobTTL)
}

// peek reads a temporary value without taking it.
func peek([]byte) bool { return false }

// ResumeRecalls resumes the asynchronous recalls whose instance stopped;
// each runs in the background. It returns how many it took over. The bot
// calls it at start and every minute.
func (o *Operator) ResumeRecalls(ctx context.Context) int {
	ids, err := o.led.Marked(ctx, recallJobNS)
	if err != nil {
		if ctx.Err() == nil {
			o.cfg.Log.Warn("listing running recalls", zap.Error(err))
		}
		return 0
	}
	n := 0
	for _, id := range ids {
		b, found, _, err := o.led.TakeTempIf(ctx, recallJobNS, id, peek)
		if err != nil {
			continue
		}
		var job api.RecallJob
		if !found || json.Unmarshal(b, &job) != nil || job.State != api.JobRunning {
			_ = o.led.Unmark(ctx, recallJobNS, id) // ended, or its record expired
			continue
		}
		if _, alive, _, err := o.led.TakeTempIf(ctx, ledger.LeaseNS, job.Owner, peek); err != nil || alive || job.Owner == "" {
			continue
		}
		if first, err := o.led.ClaimOnce(ctx, "recall-resume", job.ID+" "+job.Owner, recallJobTTL); err != nil || !first {
			continue
		}
		if o.resumeRecall(ctx, job) {
			n++
		}
	}
	return n
}

// resumeRecall finishes job, whose engine stopped, under an engine of this
// instance's.
func (o *Operator) resumeRecall(ctx context.Context, job api.RecallJob) bool {
	b, found, _, err := o.led.TakeTempIf(ctx, recallPlanNS, job.ID, peek)
	var sel recall.Selection
	if err == nil && (!found || json.Unmarshal(b, &sel) != nil) {
		err = errNoPlan
	}
	if err != nil {
		o.cfg.Log.Error("an interrupted recall cannot be resumed", zap.String("recall_id", job.ID), zap.Error(err))
		return false
	}
	from := job.Owner
	eng := o.engine.ForJob(job.ID)
	release, err := eng.Keep(ctx)
	if err != nil {
		o.cfg.Log.Warn("resuming a recall", zap.String("recall_id", job.ID), zap.Error(err))
		return false
	}
	job.Owner, job.Resumed, job.Updated, job.Error = eng.Owner(), true, o.now(), ""
	if err := o.putRecallJob(ctx, job); err != nil {
		release()
		return false
	}
	o.cfg.Log.Info("resuming an interrupted recall", zap.String("recall_id", job.ID), zap.String("actor", job.Actor), zap.String("stopped", from))
	req := recall.Request{Selection: sel, Actor: job.Actor, Scope: job.Scope, Why: "resumed"}
	o.background(func(ctx context.Context) {
		defer release()
		o.runRecall(ctx, eng, job, req, func(ctx context.Context, req recall.Request) (*recall.Receipt, error) {
			return eng.ResumeJob(ctx, req, from)
		})
	})
	return true
}

var errNoPlan = errors.New("its selection is not in the ledger")
