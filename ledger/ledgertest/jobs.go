package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// runningJob creates a job of n oto users, 20 to a step, run by "a".
func runningJob(t *testing.T, s ledger.Store, id string, n int) ledger.Job {
	t.Helper()
	ctx := context.Background()
	var steps [][]ledger.Chat
	for i := 0; i < n; i += 20 {
		var st []ledger.Chat
		for k := i; k < min(i+20, n); k++ {
			st = append(st, ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("%s-u%03d", id, k)})
		}
		steps = append(steps, st)
	}
	if _, err := s.CreateJob(ctx, ledger.Job{ID: id, Excerpt: "notice"}, slices.Values(steps)); err != nil {
		t.Fatal(err)
	}
	j, mine, err := s.TakeJob(ctx, id, ledger.Claimant{Owner: "a", At: time.Now(), LeaseTTL: time.Hour})
	if err != nil || !mine {
		t.Fatal(mine, err)
	}
	return j
}

// startStepFor plans step i of job id for its users.
func startStepFor(t *testing.T, s ledger.Store, id string, i int) ledger.Entry {
	t.Helper()
	st, err := s.JobSteps(context.Background(), id, i, 1)
	if err != nil || len(st) != 1 {
		t.Fatal(st, err)
	}
	e, _, err := s.StartStep(context.Background(), id, "a", i, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}, Recipients: userIDs(st[0]), Excerpt: "notice"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testJobs: a broadcast is written ahead one step at a time, by its runner
// only, never twice; flow-controlled users come back as retry steps; a
// cancelled job takes no more steps; a lapsed runner is replaced.
func testJobs(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	var steps [][]ledger.Chat
	steps = append(steps, []ledger.Chat{chatB})
	var users []ledger.Chat
	for i := range 45 {
		users = append(users, ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprint("u", i)})
	}
	for i := 0; i < len(users); i += 20 {
		steps = append(steps, users[i:min(i+20, len(users))])
	}
	j, err := s.CreateJob(ctx, ledger.Job{ID: "b-1", MsgKey: "sampleText", MsgParam: `{"content":"all hands"}`, Excerpt: "all hands"}, slices.Values(steps))
	if err != nil || j.Steps != 4 || j.Recipients != 46 || j.State != ledger.JobRunning {
		t.Fatalf("CreateJob = %+v, %v", j, err)
	}
	if _, err := s.CreateJob(ctx, ledger.Job{ID: "b-1"}, slices.Values(steps)); !errors.Is(err, ledger.ErrJobExists) {
		t.Errorf("second CreateJob: %v", err)
	}
	got, err := s.JobSteps(ctx, "b-1", 1, 10)
	if err != nil || len(got) != 3 || len(got[0]) != 20 || len(got[2]) != 5 || got[2][4].UserID != "u44" {
		t.Fatalf("JobSteps = %v, %v", got, err)
	}
	// Only its runner takes steps, in order.
	if _, _, err := s.StartStep(ctx, "b-1", "a", 0, ledger.Entry{Chat: chatB}); err == nil {
		t.Error("a step without a runner")
	}
	if _, mine, err := s.TakeJob(ctx, "b-1", ledger.Claimant{Owner: "a", At: time.Now(), LeaseTTL: time.Hour}); err != nil || !mine {
		t.Fatalf("TakeJob a: %v %v", mine, err)
	}
	if _, mine, _ := s.TakeJob(ctx, "b-1", ledger.Claimant{Owner: "b", At: time.Now(), LeaseTTL: time.Hour}); mine {
		t.Error("b took a job whose runner is alive")
	}
	e, j, err := s.StartStep(ctx, "b-1", "a", 0, ledger.Entry{Chat: chatB, Excerpt: "all hands"})
	if err != nil || e.State != ledger.Pending || e.BatchID != "b-1" || j.Next != 1 || j.Calls != 0 || len(j.Planned()) != 1 {
		t.Fatalf("StartStep 0 = %+v %+v %v", e, j, err)
	}
	if j, err = s.DispatchStep(ctx, "b-1", "a", e.ID); err != nil || j.Calls != 1 || len(j.InFlight()) != 1 {
		t.Fatalf("DispatchStep 0 = %+v %v", j, err)
	}
	var jse *ledger.JobStateError
	if _, _, err := s.StartStep(ctx, "b-1", "a", 0, ledger.Entry{Chat: chatB}); !errors.As(err, &jse) {
		t.Errorf("step 0 again: %v", err)
	}
	if _, j, err = s.SettleStep(ctx, "b-1", e.ID, ledger.Transition{To: ledger.Sent, Key: "k-b1-0"}, ledger.JobDelta{Sent: 1}); err != nil || j.Sent != 1 || len(j.Open) != 0 {
		t.Fatalf("SettleStep = %+v %v", j, err)
	}
	// A packed step: 20 users, 2 flow-controlled and 1 invalid.
	e, _, err = s.StartStep(ctx, "b-1", "a", 1, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}, Recipients: userIDs(steps[1])})
	if err != nil || e.Reach() != 20 {
		t.Fatalf("StartStep 1 = %+v %v", e, err)
	}
	reached := userIDs(steps[1])[3:]
	_, j, err = s.SettleStep(ctx, "b-1", e.ID, ledger.Transition{To: ledger.Sent, Key: "k-b1-1", Recipients: reached},
		ledger.JobDelta{Sent: len(reached), Failed: 1, Retry: []ledger.RetryUser{{UserID: "u0", Tries: 1}, {UserID: "u1", Tries: 1}}, RetryAt: time.Now()})
	if err != nil || j.Sent != 18 || j.Failed != 1 || len(j.Retry) != 2 || j.Pending() != 27 {
		t.Fatalf("settled %+v %v", j, err)
	}
	// A retry is not due before the steps are done.
	if _, _, err := s.StartStep(ctx, "b-1", "a", 4, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}}); !errors.As(err, &jse) {
		t.Errorf("early retry: %v", err)
	}
	for step := 2; step <= 3; step++ {
		e, _, err := s.StartStep(ctx, "b-1", "a", step, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}, Recipients: userIDs(steps[step])})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DispatchStep(ctx, "b-1", "a", e.ID); err != nil {
			t.Fatal(err)
		}
	}
	e, j, err = s.StartStep(ctx, "b-1", "a", 4, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}})
	if err != nil || !reflect.DeepEqual(e.Recipients, []string{"u0", "u1"}) || len(j.Retry) != 0 || j.Finished() {
		t.Fatalf("retry step = %+v %+v %v", e, j, err)
	}
	if o := j.Planned(); len(o) != 1 || !reflect.DeepEqual(o[0].Tries, []int{1, 1}) {
		t.Errorf("the retry step's tries: %+v", o)
	}
	if j, _ = s.DispatchStep(ctx, "b-1", "a", e.ID); !j.Finished() || len(j.InFlight()) != 3 {
		t.Errorf("all dispatched: %+v", j)
	}
	// Cancelled: no more steps. Its runner's lease gone: another takes it.
	if _, err := s.UpdateJob(ctx, "b-1", func(j *ledger.Job) error { j.State = ledger.JobCancelled; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.StartStep(ctx, "b-1", "a", 5, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}}); !errors.As(err, &jse) {
		t.Errorf("a step after cancel: %v", err)
	}
	if jobs, _ := s.Jobs(ctx, ledger.JobCancelled); len(jobs) != 1 || jobs[0].ID != "b-1" {
		t.Errorf("Jobs(cancelled) = %+v", jobs)
	}
	if jobs, _ := s.Jobs(ctx, ledger.JobRunning); len(jobs) != 0 {
		t.Errorf("Jobs(running) = %+v", jobs)
	}
	if _, err := s.CreateJob(ctx, ledger.Job{ID: "b-2"}, slices.Values([][]ledger.Chat{{chatA}})); err != nil {
		t.Fatal(err)
	}
	if _, mine, _ := s.TakeJob(ctx, "b-2", ledger.Claimant{Owner: "dead", At: time.Now(), LeaseTTL: time.Hour}); !mine {
		t.Fatal("the first runner did not get b-2")
	}
	dropLease(ctx, s, "dead") // its runner stopped renewing: the lease is gone
	if j, mine, err := s.TakeJob(ctx, "b-2", ledger.Claimant{Owner: "b", At: time.Now(), LeaseTTL: time.Hour}); !mine || j.Owner != "b" || err != nil {
		t.Errorf("b did not take over a lapsed runner: %+v %v %v", j, mine, err)
	}
	if batch, _ := s.Batch(ctx, "b-1"); len(batch) != 5 {
		t.Errorf("batch b-1 has %d entries", len(batch))
	}
}

// testJobDispatchAndCancel: a cancel refuses every dispatch after it, closes
// the planned steps' entries as not sent in the same commit, counts
// everyone not reached cancelled, and leaves the dispatched steps open (the
// calls in flight); when those land they count, and users to try again in
// a cancelled job count cancelled.
func testJobDispatchAndCancel(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	runningJob(t, s, "b-c", 100) // 5 steps
	sent := startStepFor(t, s, "b-c", 0)
	if _, err := s.DispatchStep(ctx, "b-c", "a", sent.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SettleStep(ctx, "b-c", sent.ID, ledger.Transition{To: ledger.Sent, Key: "k-c0"}, ledger.JobDelta{Sent: 20}); err != nil {
		t.Fatal(err)
	}
	flying := startStepFor(t, s, "b-c", 1)
	if _, err := s.DispatchStep(ctx, "b-c", "a", flying.ID); err != nil {
		t.Fatal(err)
	}
	var jse *ledger.JobStateError
	if _, err := s.DispatchStep(ctx, "b-c", "b", flying.ID); !errors.As(err, &jse) {
		t.Errorf("a dispatch by another instance: %v", err)
	}
	if j, err := s.DispatchStep(ctx, "b-c", "a", flying.ID); err != nil || j.Calls != 2 {
		t.Errorf("dispatching again (a call made again after a refusal): %+v %v", j, err)
	}
	planned := startStepFor(t, s, "b-c", 2)

	j, cancelled, err := s.CancelJob(ctx, "b-c", "api:ops")
	if err != nil || !cancelled || j.State != ledger.JobCancelled || j.StoppedBy != "api:ops" {
		t.Fatalf("CancelJob = %+v, %v", j, err)
	}
	if len(j.InFlight()) != 1 || j.InFlight()[0].Entry != flying.ID || len(j.Planned()) != 0 {
		t.Errorf("open after the cancel: %+v", j.Open)
	}
	if j.Sent != 20 || j.Cancelled != 60 || j.Pending() != 20 || j.Calls != 2 {
		t.Errorf("counts after the cancel: sent %d, cancelled %d, pending %d, calls %d", j.Sent, j.Cancelled, j.Pending(), j.Calls)
	}
	if e, _ := s.Get(ctx, planned.ID); e.State != ledger.SendFailed || e.Reason != ledger.ReasonCancelled {
		t.Errorf("the planned step's entry: %+v", e)
	}
	if _, err := s.DispatchStep(ctx, "b-c", "a", planned.ID); !errors.As(err, &jse) {
		t.Errorf("a dispatch after the cancel: %v", err)
	}
	if _, _, err := s.StartStep(ctx, "b-c", "a", 3, ledger.Entry{Chat: chatU}); !errors.As(err, &jse) {
		t.Errorf("a step after the cancel: %v", err)
	}
	// Settling the planned step again, as its runner does, changes nothing.
	if _, j, err = s.SettleStep(ctx, "b-c", planned.ID, ledger.Transition{To: ledger.SendFailed, Reason: ledger.ReasonCancelled}, ledger.JobDelta{Cancelled: 20}); err != nil || j.Cancelled != 60 {
		t.Errorf("the runner settling the cancelled step: %+v %v", j, err)
	}
	// The call in flight lands: 17 reached, 3 flow-controlled.
	_, j, err = s.SettleStep(ctx, "b-c", flying.ID, ledger.Transition{To: ledger.Sent, Key: "k-c1", Recipients: flying.Recipients[3:]},
		ledger.JobDelta{Sent: 17, Retry: []ledger.RetryUser{{UserID: flying.Recipients[0], Tries: 1}, {UserID: flying.Recipients[1], Tries: 1}, {UserID: flying.Recipients[2], Tries: 1}}, RetryAt: time.Now()})
	if err != nil || j.Sent != 37 || j.Cancelled != 63 || j.Pending() != 0 || len(j.Open) != 0 || len(j.Retry) != 0 {
		t.Errorf("after the call in flight landed: %+v %v", j, err)
	}
	if again, cancelled, err := s.CancelJob(ctx, "b-c", "api:other"); err != nil || cancelled || again.StoppedBy != "api:ops" || again.Cancelled != 63 {
		t.Errorf("cancelling again: %+v %v", again, err)
	}
}

// testJobTakeOverKeepsPlannedSteps: the runner that takes a job over sends
// the steps its predecessor planned but never dispatched; those it
// dispatched may have reached DingTalk and stay pending, in doubt.
func testJobTakeOverKeepsPlannedSteps(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	runningJob(t, s, "b-t", 60)
	flying := startStepFor(t, s, "b-t", 0)
	if _, err := s.DispatchStep(ctx, "b-t", "a", flying.ID); err != nil {
		t.Fatal(err)
	}
	planned := startStepFor(t, s, "b-t", 1)
	dropLease(ctx, s, "a") // a stopped
	j, mine, err := s.TakeJob(ctx, "b-t", ledger.Claimant{Owner: "b", At: time.Now(), LeaseTTL: time.Hour})
	if err != nil || !mine {
		t.Fatal(mine, err)
	}
	if len(j.Open) != 1 || j.Open[0].Entry != planned.ID || j.Open[0].Dispatched || j.Pending() != 60 {
		t.Errorf("after the takeover: %+v", j)
	}
	var jse *ledger.JobStateError
	if _, err := s.DispatchStep(ctx, "b-t", "a", planned.ID); !errors.As(err, &jse) {
		t.Errorf("the old runner dispatched after the takeover: %v", err)
	}
	if j, err = s.DispatchStep(ctx, "b-t", "b", planned.ID); err != nil || j.Calls != 2 {
		t.Errorf("the new runner's dispatch: %+v %v", j, err)
	}
	// The old runner's call lands after all: it counts.
	if _, j, err = s.SettleStep(ctx, "b-t", flying.ID, ledger.Transition{To: ledger.Sent, Key: "k-t0"}, ledger.JobDelta{Sent: 20}); err != nil || j.Sent != 20 {
		t.Errorf("a late answer of the old runner: %+v %v", j, err)
	}
}

// chunk is how many steps the built-in stores keep in one stored chunk
// (package ledger's stepChunk): testCreateJobInChunks writes more than two
// chunks' worth, and a bad step in the second.
const chunk = 256

// testCreateJobInChunks: steps are stored a chunk at a time; a bad step
// or a failing source leaves no job, and its id free.
func testCreateJobInChunks(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	users := func(n int, bad int) iter.Seq[[]ledger.Chat] {
		return func(yield func([]ledger.Chat) bool) {
			for i := range n {
				c := ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprint("u", i)}
				if i == bad {
					c.UserID = ""
				}
				if !yield([]ledger.Chat{c}) {
					return
				}
			}
		}
	}
	j, err := s.CreateJob(ctx, ledger.Job{ID: "b-big"}, users(chunk*2+3, -1))
	if err != nil || j.Steps != chunk*2+3 || j.Recipients != j.Steps || j.State != ledger.JobRunning {
		t.Fatalf("CreateJob = %+v, %v", j, err)
	}
	st, err := s.JobSteps(ctx, "b-big", chunk*2, 10)
	if err != nil || len(st) != 3 || st[2][0].UserID != fmt.Sprint("u", chunk*2+2) {
		t.Errorf("the last chunk: %v %v", st, err)
	}
	if _, err := s.CreateJob(ctx, ledger.Job{ID: "b-bad"}, users(chunk+10, chunk+5)); err == nil {
		t.Fatal("a step without a user was taken")
	}
	if _, err := s.GetJob(ctx, "b-bad"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a refused job is still there: %v", err)
	}
	if _, err := s.CreateJob(ctx, ledger.Job{ID: "b-bad"}, users(3, -1)); err != nil {
		t.Errorf("the id of a refused job: %v", err)
	}
	if jobs, _ := s.Jobs(ctx, ledger.JobCreating); len(jobs) != 0 {
		t.Errorf("jobs left creating: %+v", jobs)
	}
}
