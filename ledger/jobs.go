package ledger

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// A Job is a durable broadcast: one message to many chats, sent in steps of
// one DingTalk call (a group or person-to-person chat, or up to 20 users
// packed into one oToMessages/batchSend). Each step is written ahead
// (StartStep appends its pending entry and moves the job past it in one
// commit), so a job resumes after a restart, or on another instance, without
// sending anything twice: a step whose outcome was lost stays pending, it is
// never sent again.

// JobState is where a broadcast is.
type JobState string

// Job states.
const (
	JobRunning   JobState = "running"
	JobDone      JobState = "done"
	JobCancelled JobState = "cancelled"
)

// Job is a broadcast and its progress.
type Job struct {
	ID          string        `json:"id"` // the batch id its entries carry
	MsgKey      string        `json:"msg_key"`
	MsgParam    string        `json:"msg_param"` // JSON
	Excerpt     string        `json:"excerpt"`
	ContentHash string        `json:"content_hash"`
	Actor       string        `json:"actor"`
	ExpiresIn   time.Duration `json:"expires_in,omitempty"` // self-destruct of each message
	Steps       int           `json:"steps"`                // send calls its targets take, retries aside
	Recipients  int           `json:"recipients"`           // people it is meant for
	Created     time.Time     `json:"created"`

	// Progress.
	State   JobState    `json:"state"`
	Next    int         `json:"next"`            // the next step to take
	Retry   []RetryUser `json:"retry,omitempty"` // flow-controlled users, for a later call
	RetryAt time.Time   `json:"retry_at,omitzero"`
	Owner   string      `json:"owner,omitempty"`   // the instance running it (its lease: LeaseNS)
	Sent    int         `json:"sent"`              // recipients DingTalk reached
	Failed  int         `json:"failed"`            // recipients refused for good (invalid, or too often flow-controlled)
	Refused []Refusal   `json:"refused,omitempty"` // who of them and why: the first MaxRefusals
	Calls   int         `json:"calls"`             // send calls made
	Updated time.Time   `json:"updated"`
}

// RetryUser is a user DingTalk flow-controlled, to try again.
type RetryUser struct {
	UserID string `json:"user_id"`
	Tries  int    `json:"tries"`
}

// Refusal is one target DingTalk did not reach for good, and why:
// "invalid" (invalidStaffIdList: not a user the bot can message),
// "flow_controlled" (flowControlledStaffIdList on every try), or the
// refusal of the whole call (DingTalk's code).
type Refusal struct {
	Target string `json:"target"` // a user id, or a chat's key (group:cid) for a chat
	Reason string `json:"reason"`
}

// MaxRefusals bounds the refusals a job keeps by name; Failed counts them
// all. A broadcast to a wrong list of 100,000 must not grow its record
// without bound.
const MaxRefusals = 1000

// Pending is how many recipients are neither reached nor refused: not yet
// sent to, waiting to be tried again, or in a call whose outcome was lost.
func (j Job) Pending() int { return max(j.Recipients-j.Sent-j.Failed, 0) }

// Finished reports whether the job has nothing more to send.
func (j Job) Finished() bool { return j.Next >= j.Steps && len(j.Retry) == 0 }

// JobDelta is what a settled step adds to its job.
type JobDelta struct {
	Sent, Failed int
	// Refused names the failed recipients, where a call named them.
	Refused []Refusal
	// Retry are users to try again in a later call, from RetryAt.
	Retry   []RetryUser
	RetryAt time.Time
}

// ErrJobExists is a CreateJob of an id in use.
var ErrJobExists = errors.New("ledger: a broadcast with this batch id exists")

// JobStateError is a step or a change the job's state refuses: it was
// cancelled or finished, another instance runs it, or the step is not the
// next one.
type JobStateError struct {
	ID, Why string
}

func (e *JobStateError) Error() string { return fmt.Sprintf("ledger: broadcast %s: %s", e.ID, e.Why) }

// stepChunk is how many steps one stored chunk of a job's targets holds.
const stepChunk = 256

// checkJob validates a new job and its steps.
func checkJob(j Job, steps [][]Chat) (Job, error) {
	switch {
	case j.ID == "" || len(j.ID) > 128:
		return j, errors.New("a broadcast needs a batch id of 1 to 128 bytes")
	case len(steps) == 0:
		return j, errors.New("a broadcast needs at least one target")
	}
	n := 0
	for i, st := range steps {
		if len(st) == 0 || len(st) > maxRecipients {
			return j, fmt.Errorf("step %d has %d targets: 1 to %d", i, len(st), maxRecipients)
		}
		for _, c := range st {
			if err := c.Validate(); err != nil {
				return j, fmt.Errorf("step %d: %w", i, err)
			}
			if len(st) > 1 && c.Family != OTO {
				return j, fmt.Errorf("step %d packs a %s chat: only oto users share a call", i, c.Family)
			}
		}
		n += len(st)
	}
	j.Steps, j.Recipients, j.State, j.Next, j.Sent, j.Failed, j.Calls = len(steps), n, JobRunning, 0, 0, 0, 0
	j.Retry, j.Owner = nil, ""
	if j.Created.IsZero() {
		j.Created = time.Now()
	}
	j.Created = norm(j.Created)
	j.Updated = j.Created
	return j, nil
}

// startStep checks that owner may take step of j and returns the targets
// of a retry step (step >= Steps) taken from j.Retry, and the job after.
func startStep(j Job, owner string, step int, at time.Time) (Job, []RetryUser, error) {
	switch {
	case j.State != JobRunning:
		return j, nil, &JobStateError{j.ID, "it is " + string(j.State)}
	case j.Owner != owner:
		return j, nil, &JobStateError{j.ID, "another instance (" + j.Owner + ") runs it"}
	case step < j.Steps && step != j.Next:
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
	j.Calls++
	j.Updated = norm(at)
	return j, taken, nil
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

// settle adds d to j.
func (j Job) settle(d JobDelta, at time.Time) Job {
	j.Sent += d.Sent
	j.Failed += d.Failed
	if room := MaxRefusals - len(j.Refused); room > 0 {
		j.Refused = append(j.Refused, d.Refused[:min(room, len(d.Refused))]...)
	}
	j.Retry = append(j.Retry, d.Retry...)
	if len(d.Retry) > 0 && d.RetryAt.After(j.RetryAt) {
		j.RetryAt = norm(d.RetryAt)
	}
	j.Updated = norm(at)
	return j
}

// stepsChunk returns the chunk holding step i and i's place in it.
func stepsChunk(i int) (chunk, at int) { return i / stepChunk, i % stepChunk }
