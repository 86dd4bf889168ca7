package httpapi

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

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// An asynchronous recall (POST /v1/recalls with "async": true) answers
// 202 at once and runs on in the background; its progress is a record in
// the ledger (temporary namespace recallJobNS, kept recallJobTTL), so
// that GET /v1/recalls/{id} answers on any instance sharing the ledger.
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

// recallJob is an asynchronous recall's record.
type recallJob struct {
	ID        string         `json:"recall_id"`
	State     string         `json:"state"` // running, done, interrupted, failed
	Actor     string         `json:"actor"`
	Scope     string         `json:"scope,omitempty"`
	Resumed   bool           `json:"resumed,omitempty"` // finished by another run after the first one stopped
	Owner     string         `json:"owner,omitempty"`   // the engine running it: its claims and its lease`
	Requested int            `json:"requested"`
	Done      int            `json:"done"`
	Pending   int            `json:"pending"`
	Calls     int            `json:"recall_calls"`
	Started   time.Time      `json:"started"`
	Updated   time.Time      `json:"updated"`
	Receipt   map[string]any `json:"receipt,omitempty"` // when it ended: as POST /v1/recalls answers
	Error     string         `json:"error,omitempty"`
}

func newRecallID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "r-" + hex.EncodeToString(b[:])
}

// startRecall plans req (so that a selection error is a 400 now, not a
// failed job later), writes the job's record, its selection and its mark
// (so that it is found again if this instance stops) and starts the
// recall under an engine of its own (ForJob), which holds its lease from
// now on.
func (a *API) startRecall(w http.ResponseWriter, r *http.Request, req recall.Request, reads bool) {
	plan, err := a.Engine.Plan(r.Context(), req.Selection)
	switch {
	case recall.IsSelectionError(err):
		apiError(w, http.StatusBadRequest, "bad_selection", err.Error())
		return
	case err != nil:
		a.ledgerDown(w, "the recall was not started", err)
		return
	}
	now := a.now()
	job := recallJob{ID: newRecallID(), State: "running", Actor: req.Actor, Scope: plan.Scope, Requested: len(plan.Items), Pending: len(plan.Items),
		Started: now, Updated: now}
	eng := a.Engine.ForJob(job.ID)
	job.Owner = eng.Owner()
	release, err := eng.Keep(r.Context())
	if err == nil {
		err = a.putRecallPlan(r.Context(), job.ID, resumable(req.Selection, plan))
	}
	if err == nil {
		err = a.putRecallJob(r.Context(), job)
	}
	if err == nil {
		err = a.Ledger.Mark(r.Context(), recallJobNS, job.ID)
	}
	if err != nil {
		if release != nil {
			release()
		}
		a.ledgerDown(w, "the recall was not started", err)
		return
	}
	run := func(ctx context.Context) {
		defer release()
		if reads { // before the recall, in the background: 1 query call per message
			if err := eng.AddReads(ctx, plan); err != nil {
				a.Log.Warn("read status not fetched", zap.String("recall_id", job.ID), zap.Error(err))
			}
		}
		a.runRecall(ctx, eng, job, req, func(ctx context.Context, req recall.Request) (*recall.Receipt, error) {
			return eng.Execute(ctx, req, plan)
		})
	}
	a.goJob(run)
	w.Header().Set("Location", "/v1/recalls/"+job.ID)
	writeJSON(w, http.StatusAccepted, job)
}

// goJob runs work that outlives its request, on the owner Go names, or
// without one on the API's own, which Wait waits for.
func (a *API) goJob(run func(context.Context)) {
	if a.Go != nil {
		a.Go(run)
		return
	}
	a.jobs.Add(1)
	go func() {
		defer a.jobs.Done()
		run(context.Background())
	}()
}

// Wait waits for the work requests started (asynchronous recalls) when
// the API was given no Go to run it.
func (a *API) Wait() { a.jobs.Wait() }

// runRecall carries out the recall (exec) and keeps the job's record
// current; at the end it takes the job's mark away.
func (a *API) runRecall(ctx context.Context, eng *recall.Engine, job recallJob, req recall.Request, exec func(context.Context, recall.Request) (*recall.Receipt, error)) {
	var mu sync.Mutex
	var last time.Time
	req.Progress = func(done, total, calls int) {
		mu.Lock()
		defer mu.Unlock()
		job.Done, job.Pending, job.Calls = done, total-done, calls
		if now := a.now(); now.Sub(last) >= recallJobEvery {
			last, job.Updated = now, now
			if err := a.putRecallJob(context.WithoutCancel(ctx), job); err != nil {
				a.Log.Warn("recall progress not recorded", zap.String("recall_id", job.ID), zap.Error(err))
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
				job.Updated = a.now()
				_ = a.putRecallJob(context.WithoutCancel(ctx), job)
				mu.Unlock()
			}
		}
	}()
	rec, err := exec(ctx, req)
	if err == nil && ctx.Err() == nil && rec.Count(recall.NotAttempted) > 0 {
		// Given back unrecalled (this instance stalled and its lease
		// lapsed, the ledger failed a claim): one more try, on new claims.
		rec = a.retryNotAttempted(ctx, eng, req, rec)
	}
	beat.Stop()
	close(stop)
	<-beating
	mu.Lock()
	defer mu.Unlock()
	job.Updated = a.now()
	switch {
	case ctx.Err() != nil: // stopped with the bot: the record stays running and marked, for whoever resumes it
		_ = a.putRecallJob(context.WithoutCancel(ctx), job)
		return
	case err != nil:
		job.State, job.Error = "failed", err.Error()
		a.Log.Error("asynchronous recall failed", zap.String("recall_id", job.ID), zap.Error(err))
	default:
		job.State, job.Error = "done", ""
		if n := rec.Count(recall.NotAttempted); n > 0 {
			job.State = "interrupted"
			job.Error = fmt.Sprintf("%d message(s) were not recalled (the bot stopped, or lost its claim on them); they stay recallable: send the same request again", n)
		}
		job.Done, job.Pending, job.Calls = len(rec.Items), 0, rec.Calls
		full := len(rec.Items)
		if full > maxJobItems {
			rec.Items = rec.Items[:maxJobItems]
		}
		job.Receipt = receiptJSON(rec, a.Locale)
		if full > maxJobItems {
			job.Receipt["items_truncated"] = full - maxJobItems
		}
	}
	if err := a.putRecallJob(context.WithoutCancel(ctx), job); err != nil {
		a.Log.Error("recall result not recorded", zap.String("recall_id", job.ID), zap.Error(err))
		return
	}
	if err := a.Ledger.Unmark(context.WithoutCancel(ctx), recallJobNS, job.ID); err != nil {
		a.Log.Warn("finished recall still marked running", zap.String("recall_id", job.ID), zap.Error(err))
	}
}

// retryNotAttempted recalls again what rec did not attempt, and puts the
// new outcomes in its place.
func (a *API) retryNotAttempted(ctx context.Context, eng *recall.Engine, req recall.Request, rec *recall.Receipt) *recall.Receipt {
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
		a.Log.Warn("retrying what a recall did not attempt", zap.Error(err))
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

func (a *API) putRecallJob(ctx context.Context, job recallJob) error {
	b, err := json.Marshal(job)
	if err != nil {
		return err
	}
	return a.Ledger.PutTemp(ctx, recallJobNS, job.ID, b, recallJobTTL)
}

// getRecall reports an asynchronous recall: its progress while it runs,
// its receipt when it is done.
func (a *API) getRecall(w http.ResponseWriter, r *http.Request) {
	peek := func([]byte) bool { return false }
	b, found, _, err := a.Ledger.TakeTempIf(r.Context(), recallJobNS, r.PathValue("id"), peek)
	switch {
	case err != nil:
		a.ledgerDown(w, "the recall could not be looked up", err)
		return
	case !found:
		apiError(w, http.StatusNotFound, "not_found", "no recall with that id (records are kept 7 days)")
		return
	}
	var job recallJob
	if err := json.Unmarshal(b, &job); err != nil {
		a.ledgerDown(w, "the recall's record is unreadable", err)
		return
	}
	if job.State == "running" && a.now().Sub(job.Updated) > recallJobStale {
		job.State = "interrupted"
		job.Error = "no progress for " + a.now().Sub(job.Updated).Round(time.Second).String() +
			": the instance running it stopped; what it did not recall stays recallable: send the same request again"
	}
	writeJSON(w, http.StatusOK, job)
}
