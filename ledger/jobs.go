package ledger

import (
	"errors"
	"fmt"
	"iter"
	"time"
)

// A Job is a durable broadcast: one message to many chats, sent in steps of
// one DingTalk call (a group or person-to-person chat, or up to 20 users
// packed into one oToMessages/batchSend). Each step goes through three
// commits:
//
//   - StartStep plans it: its pending entry is appended and the job moves
//     past it, in one commit; the step is open and planned (no call made);
//   - DispatchStep marks it dispatched at the last moment before its
//     request is written (the client's guard), after checking that the job
//     still runs and still belongs to the caller: a cancel, or another
//     instance taking the job over, stops the call there;
//   - SettleStep records DingTalk's answer and closes the step.
//
// So a job resumes after a restart, or on another instance, without
// sending anything twice and without leaving in doubt a call that was
// never made: a planned step is simply sent by whoever runs the job next;
// only a dispatched step whose answer was lost stays pending.

// JobState is where a broadcast is.
type JobState string

// Job states.
const (
	// JobCreating is a job whose steps are still being written; it never
	// runs until CreateJob ends (a crash leaves it to be pruned).
	JobCreating  JobState = "creating"
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
	Calls   int         `json:"calls"`             // send calls made (dispatched)
	Updated time.Time   `json:"updated"`
	// Open are the steps written ahead and not yet settled.
	Open []OpenStep `json:"open,omitempty"`
	// Cancelled counts the recipients a cancel stopped the job from
	// sending to: never planned, planned and not dispatched, waiting to be
	// tried again, or in a call that came back unsent.
	Cancelled int `json:"cancelled,omitempty"`
	// StoppedBy is who cancelled it ("api:ops", or the actor of a recall
	// of its batch); CancelAudit the audit record of that cancel, which
	// is brought up to date once the calls then in flight have landed.
	StoppedBy   string `json:"stopped_by,omitempty"`
	CancelAudit uint64 `json:"cancel_audit,omitempty"`
}

// OpenStep is a step written ahead and not settled: its entry, how many
// people its call is for, and whether its request may have been written.
type OpenStep struct {
	Entry      uint64 `json:"entry"`
	People     int    `json:"people"`
	Dispatched bool   `json:"dispatched,omitempty"`
	// Tries, for a retry step, are its users' calls so far, in the order
	// of its entry's recipients.
	Tries []int `json:"tries,omitempty"`
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

// ReasonCancelled is the reason of a step's entry that was never sent
// because its broadcast was cancelled first.
const ReasonCancelled = "not sent: the broadcast was cancelled"

// Pending is how many recipients are neither reached, refused nor
// cancelled: not yet sent to, waiting to be tried again, in a call on the
// wire, or in a call whose outcome was lost.
func (j Job) Pending() int { return max(j.Recipients-j.Sent-j.Failed-j.Cancelled, 0) }

// Finished reports whether the job has nothing more to send: every step
// taken, no user waiting to be tried again, no planned step unsent.
// Dispatched steps may still be open: their calls are DingTalk's to answer.
func (j Job) Finished() bool { return j.Next >= j.Steps && len(j.Retry) == 0 && len(j.Planned()) == 0 }

// InFlight are the open steps whose calls may be on the wire (dispatched).
func (j Job) InFlight() []OpenStep { return j.openWhere(true) }

// Planned are the open steps whose calls were never made.
func (j Job) Planned() []OpenStep { return j.openWhere(false) }

func (j Job) openWhere(dispatched bool) []OpenStep {
	var out []OpenStep
	for _, o := range j.Open {
		if o.Dispatched == dispatched {
			out = append(out, o)
		}
	}
	return out
}

// People is how many people steps are for.
func People(steps []OpenStep) int {
	n := 0
	for _, o := range steps {
		n += o.People
	}
	return n
}

// JobDelta is what a settled step adds to its job.
type JobDelta struct {
	Sent, Failed int
	// Cancelled counts recipients a cancel kept the step from reaching.
	Cancelled int
	// Refused names the failed recipients, where a call named them.
	Refused []Refusal
	// Retry are users to try again in a later call, from RetryAt; in a
	// cancelled job they count cancelled instead.
	Retry   []RetryUser
	RetryAt time.Time
}

// ErrJobExists is a CreateJob of an id in use.
var ErrJobExists = errors.New("ledger: a broadcast with this batch id exists")

// JobStateError is a step or a change the job's state refuses: it was
// cancelled or finished, another instance runs it, or the step is not the
// next one (or no longer open).
type JobStateError struct {
	ID, Why string
}

func (e *JobStateError) Error() string { return fmt.Sprintf("ledger: broadcast %s: %s", e.ID, e.Why) }

// stepChunk is how many steps one stored chunk of a job's targets holds.
// ledgertest's CreateJobInChunks writes more than two chunks of this size:
// change its chunk with it.
const stepChunk = 256

// newJob validates a new job's fields and resets its progress; it is
// stored as JobCreating until its steps are written.
func newJob(j Job) (Job, error) {
	if j.ID == "" || len(j.ID) > 128 {
		return j, errors.New("a broadcast needs a batch id of 1 to 128 bytes")
	}
	j.Steps, j.Recipients, j.State, j.Next, j.Sent, j.Failed, j.Calls, j.Cancelled = 0, 0, JobCreating, 0, 0, 0, 0, 0
	j.Retry, j.Owner, j.Open, j.Refused, j.StoppedBy, j.CancelAudit = nil, "", nil, nil, "", 0
	if j.Created.IsZero() {
		j.Created = time.Now()
	}
	j.Created = norm(j.Created)
	j.Updated = j.Created
	return j, nil
}

// checkStep validates step i of a job.
func checkStep(i int, st []Chat) error {
	if len(st) == 0 || len(st) > maxRecipients {
		return fmt.Errorf("step %d has %d targets: 1 to %d", i, len(st), maxRecipients)
	}
	for _, c := range st {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		if len(st) > 1 && c.Family != OTO {
			return fmt.Errorf("step %d packs a %s chat: only oto users share a call", i, c.Family)
		}
	}
	return nil
}

// chunkSteps cuts steps into the chunks the stores keep, checking each
// step: it calls write with each full chunk's number and steps (the slice
// is reused), and returns the steps and recipients seen. A store writes
// each chunk in a commit of its own, so a broadcast to 100,000 never holds
// all of its targets twice.
func chunkSteps(steps iter.Seq[[]Chat], write func(chunk int, steps [][]Chat) error) (n, people int, err error) {
	buf := make([][]Chat, 0, stepChunk)
	for st := range steps {
		if err := checkStep(n, st); err != nil {
			return n, people, err
		}
		buf = append(buf, st)
		n, people = n+1, people+len(st)
		if len(buf) == stepChunk {
			if err := write(n/stepChunk-1, buf); err != nil {
				return n, people, err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if err := write(n/stepChunk, buf); err != nil {
			return n, people, err
		}
	}
	if n == 0 {
		return 0, 0, errors.New("a broadcast needs at least one target")
	}
	return n, people, nil
}

// stepsChunk returns the chunk holding step i and i's place in it.
func stepsChunk(i int) (chunk, at int) { return i / stepChunk, i % stepChunk }
