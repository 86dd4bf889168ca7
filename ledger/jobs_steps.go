package ledger

import (
	"fmt"
	"slices"
	"time"
)

// The state changes of a job's steps, as both stores apply them inside
// one commit each.

// startStep checks that owner may take step of j and returns the targets
// of a retry step (step >= Steps) taken from j.Retry, and the job after.
// The caller appends the step's entry and then opens it (openStep).
func startStep(j Job, owner string, step int, at time.Time) (Job, []RetryUser, error) {
	if err := runnable(j, owner); err != nil {
		return j, nil, err
	}
	if step < j.Steps && step != j.Next {
		return j, nil, &JobStateError{j.ID, fmt.Sprintf("step %d is not the next one (%d)", step, j.Next)}
	}
	var taken []RetryUser
	if step >= j.Steps {
		if j.Next < j.Steps || len(j.Retry) == 0 || at.Before(j.RetryAt) {
			return j, nil, &JobStateError{j.ID, "no retry is due"}
		}
		n := min(len(j.Retry), maxRecipients)
		taken, j.Retry = slices.Clone(j.Retry[:n]), slices.Clone(j.Retry[n:])
	} else {
		j.Next = step + 1
	}
	j.Updated = norm(at)
	return j, taken, nil
}

// runnable reports why owner may not take a step of j, if it may not.
func runnable(j Job, owner string) error {
	switch {
	case j.State != JobRunning:
		return &JobStateError{j.ID, "it is " + string(j.State)}
	case j.Owner != owner:
		return &JobStateError{j.ID, "another instance (" + j.Owner + ") runs it"}
	}
	return nil
}

// openStep records e, the entry just appended for a step, as open and
// planned; taken are a retry step's users with their tries.
func (j Job) openStep(e Entry, taken []RetryUser) Job {
	o := OpenStep{Entry: e.ID, People: e.Reach()}
	if taken != nil {
		tries := make(map[string]int, len(taken))
		for _, u := range taken {
			tries[u.UserID] = u.Tries
		}
		for _, c := range e.Chats() {
			o.Tries = append(o.Tries, tries[c.UserID])
		}
	}
	j.Open = append(slices.Clone(j.Open), o)
	return j
}

// stepEntry is a step's pending entry as both stores write it: of the
// job's batch and, for a retry step, addressed to the users it took.
func stepEntry(e Entry, job string, taken []RetryUser) (Entry, error) {
	if taken != nil {
		e.Recipients = make([]string, len(taken))
		for i, u := range taken {
			e.Recipients[i] = u.UserID
		}
	}
	e.BatchID = job
	return prepare(e)
}

// dispatchStep marks the open step of entry dispatched by owner, and
// counts its call; changed is false when it was dispatched already (a
// call made again after a refusal that changed nothing).
func dispatchStep(j Job, owner string, entry uint64, at time.Time) (Job, bool, error) {
	if err := runnable(j, owner); err != nil {
		return j, false, err
	}
	i := slices.IndexFunc(j.Open, func(o OpenStep) bool { return o.Entry == entry })
	if i < 0 {
		return j, false, &JobStateError{j.ID, fmt.Sprintf("the step of entry %d is not open", entry)}
	}
	if j.Open[i].Dispatched {
		return j, false, nil
	}
	j.Open = slices.Clone(j.Open)
	j.Open[i].Dispatched = true
	j.Calls++
	j.Updated = norm(at)
	return j, true, nil
}

// undispatch takes back the dispatch mark of entry's step, whose call was
// not made after all (the mark could not be made durable).
func (j Job) undispatch(entry uint64) Job {
	i := slices.IndexFunc(j.Open, func(o OpenStep) bool { return o.Entry == entry && o.Dispatched })
	if i >= 0 {
		j.Open = slices.Clone(j.Open)
		j.Open[i].Dispatched = false
		j.Calls--
	}
	return j
}

// unstart takes back a step StartStep wrote whose commit could not be made
// durable: its entry is deleted by the caller, and the job goes back to
// taking that step (or its users back on the retry list).
func (j Job) unstart(step int, e Entry) Job {
	i := slices.IndexFunc(j.Open, func(o OpenStep) bool { return o.Entry == e.ID })
	if i < 0 {
		return j
	}
	o := j.Open[i]
	j.Open = slices.Delete(slices.Clone(j.Open), i, i+1)
	if step < j.Steps {
		if j.Next == step+1 {
			j.Next = step
		}
		return j
	}
	var back []RetryUser
	for k, c := range e.Chats() {
		back = append(back, RetryUser{UserID: c.UserID, Tries: at(o.Tries, k)})
	}
	j.Retry = append(back, j.Retry...)
	return j
}

func at(tries []int, i int) int {
	if i < len(tries) {
		return tries[i]
	}
	return 0
}

// settle adds d to j and closes entry's step. In a cancelled job, users to
// be tried again count cancelled instead.
func (j Job) settle(entry uint64, d JobDelta, at time.Time) Job {
	j = j.close(entry)
	j.Sent += d.Sent
	j.Failed += d.Failed
	j.Cancelled += d.Cancelled
	if room := MaxRefusals - len(j.Refused); room > 0 {
		j.Refused = append(j.Refused, d.Refused[:min(room, len(d.Refused))]...)
	}
	if j.State == JobCancelled {
		j.Cancelled += len(d.Retry)
	} else {
		j.Retry = append(j.Retry, d.Retry...)
		if len(d.Retry) > 0 && d.RetryAt.After(j.RetryAt) {
			j.RetryAt = norm(d.RetryAt)
		}
	}
	j.Updated = norm(at)
	return j
}

// close drops entry's step from the open ones.
func (j Job) close(entry uint64) Job {
	if i := slices.IndexFunc(j.Open, func(o OpenStep) bool { return o.Entry == entry }); i >= 0 {
		j.Open = slices.Delete(slices.Clone(j.Open), i, i+1)
	}
	return j
}

// cancel stops a running job: its planned steps (returned, for the caller
// to close their entries as not sent in the same commit) and everyone not
// yet planned or waiting for a retry are cancelled; the dispatched steps
// stay open, their calls DingTalk's to answer. changed is false when the
// job was not running.
func (j Job) cancel(by string, at time.Time) (out Job, planned []OpenStep, changed bool) {
	if j.State != JobRunning {
		return j, nil, false
	}
	planned = j.Planned()
	j.Open = j.InFlight()
	j.Retry, j.RetryAt = nil, time.Time{}
	j.State, j.StoppedBy = JobCancelled, by
	j.Cancelled = max(j.Recipients-j.Sent-j.Failed-People(j.Open), 0)
	j.Updated = norm(at)
	return j, planned, true
}

// cancelledEntry is a planned step's entry closed by a cancel; one that
// is no longer pending (settled some other way) is left as it is.
func cancelledEntry(e Entry, at time.Time) (Entry, bool, error) {
	if e.State != Pending {
		return e, false, nil
	}
	return apply(e, Transition{To: SendFailed, Reason: ReasonCancelled, At: at})
}

// takeOver makes owner the runner of j. Steps the previous runner
// dispatched may have reached DingTalk: they stay pending, in doubt, and
// leave the open steps; its planned steps stay open, for owner to send.
func (j Job) takeOver(owner string, at time.Time) Job {
	if j.Owner != owner {
		j.Open = j.Planned()
	}
	j.Owner, j.Updated = owner, norm(at)
	return j
}

// CloseStep is j without the open step of entry: a step whose call got no
// answer is no longer in flight (its entry stays pending, in doubt), and a
// step settled by other means is no longer planned.
func (j Job) CloseStep(entry uint64) Job { return j.close(entry) }
