package operator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// An asynchronous recall (StartRecall; POST /v1/recalls with "async":
// true) answers at once and runs on in the background; its progress is a
// record in the ledger (temporary namespace recallJobNS, kept
// recallJobTTL, as the API's RecallJob), so that RecallStatus (GET
// /v1/recalls/{id}) answers on any instance sharing the ledger.
// The recall itself is the engine's: claims, leases, one call per 20
// keys. If the instance running it stops mid-way, the record says
// "interrupted" until an instance finds its lease gone and resumes it as
// itself (ResumeRecalls): the same record, the same actor in the audit.
const (
	recallJobNS  = "recalls"
	recallJobTTL = 7 * 24 * time.Hour
	// recallJobEvery bounds how often progress is written.
	recallJobEvery = 500 * time.Millisecond
	// recallJobBeat is how often a running recall's record is written
	// even without progress; a record older than recallJobStale says
	// the instance running it stopped.
	recallJobBeat  = 10 * time.Second
	recallJobStale = time.Minute
	// maxJobItems bounds the items kept with a finished recall's receipt;
	// its counts and summary cover all of them.
	maxJobItems = 1000
)

func newRecallID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "r-" + hex.EncodeToString(b[:])
}

// StartRecall starts a recall that runs on in the background, as the
// caller, and answers with its record at once. The selection is planned
// first, so that a selection error is refused now, not a failed job later.
// A dry run is Recall's: it is answered at once.
func (o *Operator) StartRecall(ctx context.Context, req api.RecallRequest) (api.RecallJob, error) {
	if req.DryRun {
		return api.RecallJob{}, badRequest("dry_run_async")
	}
	sel, who, err := o.recallSelection(ctx, req)
	if err != nil {
		return api.RecallJob{}, err
	}
	return o.startRecall(ctx, recall.Request{Selection: sel, Actor: who}, req.ReadStatus)
}

// startRecall plans req, writes the job's record, its selection and its
// mark (so that it is found again if this instance stops) and starts the
// recall under an engine of its own (ForJob), which holds its lease from
// now on.
func (o *Operator) startRecall(ctx context.Context, req recall.Request, reads bool) (api.RecallJob, error) {
	plan, err := o.engine.Plan(ctx, req.Selection)
	switch {
	case recall.IsSelectionError(err):
		return api.RecallJob{}, NewRefusal(http.StatusBadRequest, "bad_selection", selectionWords(err))
	case err != nil:
		return api.RecallJob{}, o.ledgerDown("what.recall_started", err)
	}
	now := o.now()
	job := api.RecallJob{ID: newRecallID(), State: api.JobRunning, Actor: req.Actor, Scope: plan.Scope, Requested: len(plan.Items),
		Pending: len(plan.Items), Started: now, Updated: now}
	eng := o.engine.ForJob(job.ID)
	job.Owner = eng.Owner()
	release, err := eng.Keep(ctx)
	if err == nil {
		err = o.putRecallPlan(ctx, job.ID, resumable(req.Selection, plan))
	}
	if err == nil {
		err = o.putRecallJob(ctx, job)
	}
	if err == nil {
		err = o.led.Mark(ctx, recallJobNS, job.ID)
	}
	if err != nil {
		if release != nil {
			release()
		}
		return api.RecallJob{}, o.ledgerDown("what.recall_started", err)
	}
	o.background(func(ctx context.Context) {
		defer release()
		if reads { // before the recall, in the background: 1 query call per message
			if err := eng.AddReads(ctx, plan); err != nil {
				o.cfg.Log.Warn("read status not fetched", zap.String("recall_id", job.ID), zap.Error(err))
			}
		}
		o.runRecall(ctx, eng, job, req, func(ctx context.Context, req recall.Request) (*recall.Receipt, error) {
			return eng.Execute(ctx, req, plan)
		})
	})
	return job, nil
}

// runRecall carries out the recall (exec) and keeps the job's record
// current; at the end it takes the job's mark away.
func (o *Operator) runRecall(ctx context.Context, eng *recall.Engine, job api.RecallJob, req recall.Request, exec func(context.Context, recall.Request) (*recall.Receipt, error)) {
	var mu sync.Mutex
	var last time.Time
	req.Progress = func(done, total, calls int) {
		mu.Lock()
		defer mu.Unlock()
		job.Done, job.Pending, job.Calls = done, total-done, calls
		if now := o.now(); now.Sub(last) >= recallJobEvery {
			last, job.Updated = now, now
			if err := o.putRecallJob(context.WithoutCancel(ctx), job); err != nil {
				o.cfg.Log.Warn("recall progress not recorded", zap.String("recall_id", job.ID), zap.Error(err))
			}
		}
	}
	beat := time.NewTicker(recallJobBeat)
	stop, beating := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(beating)
		for {
			select {
			case <-stop:
				return
			case <-beat.C:
				mu.Lock()
				job.Updated = o.now()
				_ = o.putRecallJob(context.WithoutCancel(ctx), job)
				mu.Unlock()
			}
		}
	}()
	rec, err := exec(ctx, req)
	if err == nil && ctx.Err() == nil && rec.Count(recall.NotAttempted) > 0 {
		// Given back unrecalled (this instance stalled and its lease
		// lapsed, the ledger failed a claim): one more try, on new claims.
		rec = o.retryNotAttempted(ctx, eng, req, rec)
	}
	beat.Stop()
	close(stop)
	<-beating
	mu.Lock()
	defer mu.Unlock()
	job.Updated = o.now()
	switch {
	case ctx.Err() != nil: // stopped with the bot: the record stays running and marked, for whoever resumes it
		_ = o.putRecallJob(context.WithoutCancel(ctx), job)
		return
	case err != nil:
		job.State, job.Error = api.JobFailed, say("ledger_down", say("what.recall_done")).In(o.Locale())
		o.cfg.Log.Error("asynchronous recall failed", zap.String("recall_id", job.ID), zap.Error(err))
	default:
		job.State, job.Error = api.JobDone, ""
		if n := rec.Count(recall.NotAttempted); n > 0 {
			job.State = api.JobInterrupted
			job.Error = recall.Plurals(fmt.Sprintf("%d message(s) not recalled (the bot stopped, or lost its claim on them); they stay recallable: send the same request again", n))
		}
		job.Done, job.Pending, job.Calls = len(rec.Items), 0, rec.Calls
		full := len(rec.Items)
		if full > maxJobItems {
			rec.Items = rec.Items[:maxJobItems]
		}
		receipt := o.receiptOf(rec)
		if full > maxJobItems {
			receipt.ItemsTruncated = full - maxJobItems
		}
		job.Receipt = &receipt
	}
	if err := o.putRecallJob(context.WithoutCancel(ctx), job); err != nil {
		o.cfg.Log.Error("recall result not recorded", zap.String("recall_id", job.ID), zap.Error(err))
		return
	}
	if err := o.led.Unmark(context.WithoutCancel(ctx), recallJobNS, job.ID); err != nil {
		o.cfg.Log.Warn("finished recall still marked running", zap.String("recall_id", job.ID), zap.Error(err))
	}
}

// retryNotAttempted recalls again what rec did not attempt, and puts the
// new outcomes in its place.
func (o *Operator) retryNotAttempted(ctx context.Context, eng *recall.Engine, req recall.Request, rec *recall.Receipt) *recall.Receipt {
	var ids []uint64
	for _, it := range rec.With(recall.NotAttempted) {
		if it.Entry.ID != 0 {
			ids = append(ids, it.Entry.ID)
		}
	}
	again := req
	again.Selection, again.Once, again.Progress, again.Batch = recall.Selection{IDs: ids}, ledger.Once{}, nil, ""
	r2, err := eng.Recall(ctx, again)
	if err != nil {
		o.cfg.Log.Warn("retrying what a recall did not attempt", zap.Error(err))
		return rec
	}
	byID := map[uint64]recall.Item{}
	for _, it := range r2.Items {
		byID[it.Entry.ID] = it
	}
	for i, it := range rec.Items {
		if n, ok := byID[it.Entry.ID]; ok && it.Outcome == recall.NotAttempted {
			n.Reads = it.Reads
			rec.Items[i] = n
		}
	}
	rec.Calls += r2.Calls
	return rec
}

func (o *Operator) putRecallJob(ctx context.Context, job api.RecallJob) error {
	b, err := json.Marshal(job)
	if err != nil {
		return err
	}
	return o.led.PutTemp(ctx, recallJobNS, job.ID, b, recallJobTTL)
}

// RecallStatus reports an asynchronous recall: its progress while it
// runs, its receipt when it is done. A record that has not moved for
// recallJobStale says its instance stopped: it reads interrupted until
// another instance resumes it.
func (o *Operator) RecallStatus(ctx context.Context, id string) (api.RecallJob, error) {
	b, found, _, err := o.led.TakeTempIf(ctx, recallJobNS, id, peek)
	switch {
	case err != nil:
		return api.RecallJob{}, o.ledgerDown("what.recall_lookup", err)
	case !found:
		return api.RecallJob{}, notFound("no_recall")
	}
	var job api.RecallJob
	if err := json.Unmarshal(b, &job); err != nil {
		return api.RecallJob{}, o.ledgerDown("what.recall_record", err)
	}
	if job.State == api.JobRunning && o.now().Sub(job.Updated) > recallJobStale {
		job.State = api.JobInterrupted
		job.Error = say("recall_interrupted", duration(o.now().Sub(job.Updated))).In(o.Locale())
	}
	return job, nil
}
