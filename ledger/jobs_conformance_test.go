package ledger

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"testing"
	"time"
)

// runningJob creates a job of n oto users, 20 to a step, run by "a".
func runningJob(t *testing.T, s Store, id string, n int) Job {
	t.Helper()
	ctx := context.Background()
	var steps [][]Chat
	for i := 0; i < n; i += 20 {
		var st []Chat
		for k := i; k < min(i+20, n); k++ {
			st = append(st, Chat{Family: OTO, UserID: fmt.Sprintf("%s-u%03d", id, k)})
		}
		steps = append(steps, st)
	}
	if _, err := s.CreateJob(ctx, Job{ID: id, Excerpt: "notice"}, slices.Values(steps)); err != nil {
		t.Fatal(err)
	}
	j, mine, err := s.TakeJob(ctx, id, Claimant{Owner: "a", At: time.Now(), LeaseTTL: time.Hour})
	if err != nil || !mine {
		t.Fatal(mine, err)
	}
	return j
}

// startStep plans step i of job id for its users.
func startStepFor(t *testing.T, s Store, id string, i int) Entry {
	t.Helper()
	st, err := s.JobSteps(context.Background(), id, i, 1)
	if err != nil || len(st) != 1 {
		t.Fatal(st, err)
	}
	e, _, err := s.StartStep(context.Background(), id, "a", i, Entry{Chat: Chat{Family: OTO}, Recipients: userIDs(st[0]), Excerpt: "notice"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestJobDispatchAndCancel: a cancel refuses every dispatch after it, closes
// the planned steps' entries as not sent in the same commit, counts
// everyone not reached cancelled, and leaves the dispatched steps open (the
// calls in flight); when those land they count, and users to try again in
// a cancelled job count cancelled.
func TestJobDispatchAndCancel(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		runningJob(t, s, "b-c", 100) // 5 steps
		sent := startStepFor(t, s, "b-c", 0)
		if _, err := s.DispatchStep(ctx, "b-c", "a", sent.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SettleStep(ctx, "b-c", sent.ID, Transition{To: Sent, Key: "k-c0"}, JobDelta{Sent: 20}); err != nil {
			t.Fatal(err)
		}
		flying := startStepFor(t, s, "b-c", 1)
		if _, err := s.DispatchStep(ctx, "b-c", "a", flying.ID); err != nil {
			t.Fatal(err)
		}
		var jse *JobStateError
		if _, err := s.DispatchStep(ctx, "b-c", "b", flying.ID); !errors.As(err, &jse) {
			t.Errorf("a dispatch by another instance: %v", err)
		}
		if j, err := s.DispatchStep(ctx, "b-c", "a", flying.ID); err != nil || j.Calls != 2 {
			t.Errorf("dispatching again (a call made again after a refusal): %+v %v", j, err)
		}
		planned := startStepFor(t, s, "b-c", 2)

		j, cancelled, err := s.CancelJob(ctx, "b-c", "api:ops")
		if err != nil || !cancelled || j.State != JobCancelled || j.StoppedBy != "api:ops" {
			t.Fatalf("CancelJob = %+v, %v", j, err)
		}
		if len(j.InFlight()) != 1 || j.InFlight()[0].Entry != flying.ID || len(j.Planned()) != 0 {
			t.Errorf("open after the cancel: %+v", j.Open)
		}
		if j.Sent != 20 || j.Cancelled != 60 || j.Pending() != 20 || j.Calls != 2 {
			t.Errorf("counts after the cancel: sent %d, cancelled %d, pending %d, calls %d", j.Sent, j.Cancelled, j.Pending(), j.Calls)
		}
		if e, _ := s.Get(ctx, planned.ID); e.State != SendFailed || e.Reason != ReasonCancelled {
			t.Errorf("the planned step's entry: %+v", e)
		}
		if _, err := s.DispatchStep(ctx, "b-c", "a", planned.ID); !errors.As(err, &jse) {
			t.Errorf("a dispatch after the cancel: %v", err)
		}
		if _, _, err := s.StartStep(ctx, "b-c", "a", 3, Entry{Chat: chatU}); !errors.As(err, &jse) {
			t.Errorf("a step after the cancel: %v", err)
		}
		// Settling the planned step again, as its runner does, changes nothing.
		if _, j, err = s.SettleStep(ctx, "b-c", planned.ID, Transition{To: SendFailed, Reason: ReasonCancelled}, JobDelta{Cancelled: 20}); err != nil || j.Cancelled != 60 {
			t.Errorf("the runner settling the cancelled step: %+v %v", j, err)
		}
		// The call in flight lands: 17 reached, 3 flow-controlled.
		_, j, err = s.SettleStep(ctx, "b-c", flying.ID, Transition{To: Sent, Key: "k-c1", Recipients: flying.Recipients[3:]},
			JobDelta{Sent: 17, Retry: []RetryUser{{flying.Recipients[0], 1}, {flying.Recipients[1], 1}, {flying.Recipients[2], 1}}, RetryAt: time.Now()})
		if err != nil || j.Sent != 37 || j.Cancelled != 63 || j.Pending() != 0 || len(j.Open) != 0 || len(j.Retry) != 0 {
			t.Errorf("after the call in flight landed: %+v %v", j, err)
		}
		if again, cancelled, err := s.CancelJob(ctx, "b-c", "api:other"); err != nil || cancelled || again.StoppedBy != "api:ops" || again.Cancelled != 63 {
			t.Errorf("cancelling again: %+v %v", again, err)
		}
	})
}

// TestJobTakeOverKeepsPlannedSteps: the runner that takes a job over sends
// the steps its predecessor planned but never dispatched; those it
// dispatched may have reached DingTalk and stay pending, in doubt.
func TestJobTakeOverKeepsPlannedSteps(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		runningJob(t, s, "b-t", 60)
		flying := startStepFor(t, s, "b-t", 0)
		if _, err := s.DispatchStep(ctx, "b-t", "a", flying.ID); err != nil {
			t.Fatal(err)
		}
		planned := startStepFor(t, s, "b-t", 1)
		_, _, _ = s.TakeTemp(ctx, LeaseNS, "a") // a stopped
		j, mine, err := s.TakeJob(ctx, "b-t", Claimant{Owner: "b", At: time.Now(), LeaseTTL: time.Hour})
		if err != nil || !mine {
			t.Fatal(mine, err)
		}
		if len(j.Open) != 1 || j.Open[0].Entry != planned.ID || j.Open[0].Dispatched || j.Pending() != 60 {
			t.Errorf("after the takeover: %+v", j)
		}
		var jse *JobStateError
		if _, err := s.DispatchStep(ctx, "b-t", "a", planned.ID); !errors.As(err, &jse) {
			t.Errorf("the old runner dispatched after the takeover: %v", err)
		}
		if j, err = s.DispatchStep(ctx, "b-t", "b", planned.ID); err != nil || j.Calls != 2 {
			t.Errorf("the new runner's dispatch: %+v %v", j, err)
		}
		// The old runner's call lands after all: it counts.
		if _, j, err = s.SettleStep(ctx, "b-t", flying.ID, Transition{To: Sent, Key: "k-t0"}, JobDelta{Sent: 20}); err != nil || j.Sent != 20 {
			t.Errorf("a late answer of the old runner: %+v %v", j, err)
		}
	})
}

// TestCreateJobInChunks: steps are stored a chunk at a time; a bad step
// or a failing source leaves no job, and its id free.
func TestCreateJobInChunks(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		users := func(n int, bad int) iter.Seq[[]Chat] {
			return func(yield func([]Chat) bool) {
				for i := range n {
					c := Chat{Family: OTO, UserID: fmt.Sprint("u", i)}
					if i == bad {
						c.UserID = ""
					}
					if !yield([]Chat{c}) {
						return
					}
				}
			}
		}
		j, err := s.CreateJob(ctx, Job{ID: "b-big"}, users(stepChunk*2+3, -1))
		if err != nil || j.Steps != stepChunk*2+3 || j.Recipients != j.Steps || j.State != JobRunning {
			t.Fatalf("CreateJob = %+v, %v", j, err)
		}
		st, err := s.JobSteps(ctx, "b-big", stepChunk*2, 10)
		if err != nil || len(st) != 3 || st[2][0].UserID != fmt.Sprint("u", stepChunk*2+2) {
			t.Errorf("the last chunk: %v %v", st, err)
		}
		if _, err := s.CreateJob(ctx, Job{ID: "b-bad"}, users(stepChunk+10, stepChunk+5)); err == nil {
			t.Fatal("a step without a user was taken")
		}
		if _, err := s.GetJob(ctx, "b-bad"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused job is still there: %v", err)
		}
		if _, err := s.CreateJob(ctx, Job{ID: "b-bad"}, users(3, -1)); err != nil {
			t.Errorf("the id of a refused job: %v", err)
		}
		if jobs, _ := s.Jobs(ctx, JobCreating); len(jobs) != 0 {
			t.Errorf("jobs left creating: %+v", jobs)
		}
	})
}

// TestSetAuditNote: a record's note can be brought up to date; the rest
// of it stays.
func TestSetAuditNote(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		r, err := s.AppendAudit(ctx, AuditRecord{Actor: "api:ops", Action: "broadcast.cancel", Scope: "batch b-1", Allowed: true, Note: "880 reached"})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.AppendAudit(ctx, AuditRecord{Actor: "x", Action: "recall", Allowed: true})
		if err := s.SetAuditNote(ctx, r.ID, "980 reached"); err != nil {
			t.Fatal(err)
		}
		recs, _ := s.Audit(ctx, AuditQuery{Limit: 10})
		if len(recs) != 2 || recs[1].ID != r.ID || recs[1].Note != "980 reached" || recs[1].Actor != "api:ops" {
			t.Errorf("records %+v", recs)
		}
		if err := s.SetAuditNote(ctx, 999, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a missing record: %v", err)
		}
	})
}

// TestMarks: a named set keeps its ids until they are unmarked, apart from
// other sets.
func TestMarks(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		for _, id := range []string{"r-2", "r-1", "r-2"} {
			if err := s.Mark(ctx, "recalls", id); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.Mark(ctx, "recallsx", "other")
		if got, err := s.Marked(ctx, "recalls"); err != nil || !slices.Equal(got, []string{"r-1", "r-2"}) {
			t.Errorf("Marked = %v, %v", got, err)
		}
		if err := s.Unmark(ctx, "recalls", "r-1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Marked(ctx, "recalls"); !slices.Equal(got, []string{"r-2"}) {
			t.Errorf("after Unmark: %v", got)
		}
		if got, _ := s.Marked(ctx, "none"); len(got) != 0 {
			t.Errorf("an empty set: %v", got)
		}
	})
}
