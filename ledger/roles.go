package ledger

import (
	"context"
	"iter"
	"time"
)

// The ledger's roles. Each is a few methods that callers use together, as
// raft's LogStore and StableStore are; a consumer names the roles it needs
// by embedding them in an interface of its own (recall.SenderLedger,
// handlers.Ledger, ...), so every method is declared once, here. Store is
// all of them: what a backend implements, what ledgertest.Run holds it
// to, and what only the wiring passes around whole.

// EntryWriter writes entries and moves them through their states.
type EntryWriter interface {
	// Append writes a new entry in state pending and returns it with its ID.
	Append(ctx context.Context, e Entry) (Entry, error)
	// Record writes, in one commit, a send whose pending entry never
	// reached the ledger (the spool's replay): e appended and moved by t
	// at once (pending -> sent with its key; a zero t leaves it pending),
	// and once, if set, claimed. A key recorded already returns its
	// entry, and a once claimed before a zero entry, with first false and
	// nothing written; so a replay interrupted anywhere can be run again.
	Record(ctx context.Context, once Once, e Entry, t Transition) (out Entry, first bool, err error)
	// Transition moves an entry to t.To. Repeating a transition that
	// already happened with the same data succeeds without a change;
	// anything the state machine forbids is a *TransitionError.
	Transition(ctx context.Context, id uint64, t Transition) (Entry, error)
	// TransitionAll applies many transitions in one write (one fsync).
	// Each change succeeds or fails on its own: errs[i] is the error of
	// changes[i] (nil when it applied), err a failure of the whole write.
	TransitionAll(ctx context.Context, changes []Change) (entries []Entry, errs []error, err error)
	// Link records that entry newID corrects entry oldID.
	Link(ctx context.Context, oldID, newID uint64) error
	// Reschedule sets when an entry's self-destruct is next tried; the
	// zero time takes it off the due list.
	Reschedule(ctx context.Context, id uint64, at time.Time) error
}

// EntryReader finds entries by what identifies them: an ID, a
// processQueryKey, a batch.
type EntryReader interface {
	Get(ctx context.Context, id uint64) (Entry, error)
	ByKey(ctx context.Context, processQueryKey string) (Entry, error)
	// ByKeys looks up many keys at once; keys the ledger does not know are
	// returned in missing. A key given twice is found once; entries come
	// back in ID order.
	ByKeys(ctx context.Context, keys []string) (found []Entry, missing []string, err error)
	Batch(ctx context.Context, batchID string) ([]Entry, error)
}

// EntryLister lists entries by chat, age, due time or state, and counts
// them.
type EntryLister interface {
	List(ctx context.Context, q Query) ([]Entry, error)
	// Recent returns entries of every chat with an ID below before (0:
	// from the newest), newest first, at most limit (0 means 100); fewer
	// only when no older entry is left. It is the operator console's
	// "what did the bot send" list, which filters what it reads; nothing
	// on the send or recall path calls it.
	Recent(ctx context.Context, before uint64, limit int) ([]Entry, error)
	// Due returns entries whose DueAt is at or before now and which are
	// still sent or recall_failed, soonest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Entry, error)
	// InState returns entries in state pending, recalling or
	// recall_failed (the states that need attention), oldest first.
	InState(ctx context.Context, s State, limit int) ([]Entry, error)
	Counts(ctx context.Context) (Counts, error)
}

// ClaimStore hands entries out for recall, each to one claimant at a
// time. The claimant's lease is a TempStore record in LeaseNS, written in
// the claim's commit and renewed with PutTemp.
type ClaimStore interface {
	// Claim atomically moves each recallable entry (sent, recall_failed)
	// to recalling, owned by by.Owner, and returns it in claimed; every
	// other entry is returned unchanged in others. Unknown ids are in
	// missing. The owner's lease is written in the same commit.
	Claim(ctx context.Context, ids []uint64, by Claimant) (claimed, others []Entry, missing []uint64, err error)
	// ClaimFor is Claim made on behalf of a one-time request (see
	// ClaimOnce), recorded in the same write: a command's dedupe and its
	// effect become durable together, in one commit. If once was claimed
	// before, first is false and nothing is claimed.
	ClaimFor(ctx context.Context, once Once, ids []uint64, by Claimant) (first bool, claimed, others []Entry, missing []uint64, err error)
	// TakeOver atomically moves to by.Owner the recalling entries among
	// ids whose owner's lease has lapsed (compare-and-swap: a claim that
	// another caller took over first, or whose owner renewed, is left
	// alone). Claims with no owner (from older versions) count as lapsed
	// once their UpdatedAt is before staleBefore.
	TakeOver(ctx context.Context, ids []uint64, by Claimant, staleBefore time.Time) ([]Entry, error)
}

// TempStore keeps the small records that live beside the entries for a
// while: one-time claims and values with a TTL (confirmation codes,
// leases, async recalls' progress), and named sets of ids held while some
// work runs.
type TempStore interface {
	// ClaimOnce records id in namespace ns for ttl and reports whether
	// this was the first claim: redelivered commands run once.
	ClaimOnce(ctx context.Context, ns, id string, ttl time.Duration) (bool, error)
	// PutTemp stores a short-lived value.
	PutTemp(ctx context.Context, ns, id string, value []byte, ttl time.Duration) error
	// TakeTempIf returns the live value and deletes it only if take(value)
	// says so, in one atomic step (a confirmation code someone else tries
	// stays intact for its owner; a take that always says yes makes the
	// value single-use).
	TakeTempIf(ctx context.Context, ns, id string, take func([]byte) bool) (value []byte, found, taken bool, err error)
	// Mark, Unmark and Marked keep small named sets of ids that must be
	// found again after a crash (the asynchronous recalls running).
	Mark(ctx context.Context, set, id string) error
	Unmark(ctx context.Context, set, id string) error
	Marked(ctx context.Context, set string) ([]string, error)
}

// AuditStore keeps the audit trails: every recall attempt, allowed or
// denied, and refused access.
type AuditStore interface {
	AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error)
	// SetAuditNote rewrites the note of a record of the recall trail.
	SetAuditNote(ctx context.Context, id uint64, note string) error
	// Audit returns the most recent records of one trail, newest first.
	Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
}

// JobStore reads broadcasts and stops or changes them: what the recall
// engine, the HTTP API and the console need of a job they do not run.
type JobStore interface {
	// GetJob returns a broadcast and its progress.
	GetJob(ctx context.Context, id string) (Job, error)
	// Jobs lists the broadcasts in a state.
	Jobs(ctx context.Context, s JobState) ([]Job, error)
	// CancelJob cancels a running job in one commit: no step can be
	// dispatched after it; the entries of its planned steps are closed
	// (send_failed, ReasonCancelled); everyone not reached, refused or in
	// a dispatched call counts cancelled. Its dispatched steps stay open:
	// the calls in flight. A job not running is returned unchanged, and
	// cancelled reports whether this call cancelled it.
	CancelJob(ctx context.Context, id, by string) (j Job, cancelled bool, err error)
	// UpdateJob changes a job in one commit: fn sees it as stored.
	UpdateJob(ctx context.Context, id string, fn func(*Job) error) (Job, error)
}

// StepStore is what runs a broadcast: the job and its steps written
// ahead, one runner at a time, each step planned, dispatched and settled
// in a commit of its own.
type StepStore interface {
	// CreateJob records a new broadcast and its steps: the targets of each
	// send call (one group or private chat, or up to 20 oto users), as
	// steps yields them. They are written a chunk at a time (a broadcast
	// to 100,000 is never held whole twice), under the job reserved as
	// creating, which turns running only once all of them are durable.
	// ErrJobExists if the id is taken; on any error nothing is left.
	CreateJob(ctx context.Context, j Job, steps iter.Seq[[]Chat]) (Job, error)
	// JobSteps returns the targets of steps [from, from+n) (fewer at the end).
	JobSteps(ctx context.Context, id string, from, n int) ([][]Chat, error)
	// TakeJob makes by.Owner the runner of a running job that has none, or
	// whose runner's lease has lapsed (compare-and-swap; the lease is
	// written in the same commit) and reports whether by.Owner runs it.
	TakeJob(ctx context.Context, id string, by Claimant) (Job, bool, error)
	// StartStep writes a step ahead, planned: in one commit it appends e
	// as a pending entry of the job's batch, moves the job past the step
	// and opens it (Job.Open). The step must be the job's next, taken by
	// its owner while it runs (else a *JobStateError). A step at or past
	// Steps is a retry: it takes up to 20 flow-controlled users off the
	// job's Retry list, and they become e's recipients.
	StartStep(ctx context.Context, id, owner string, step int, e Entry) (Entry, Job, error)
	// DispatchStep marks the open step of entry entryID dispatched and
	// counts its call, in one commit, just before the call's request is
	// written: only while the job runs under owner and the step is open
	// (else a *JobStateError, and the call must not be made). Marking a
	// step dispatched again changes nothing.
	DispatchStep(ctx context.Context, id, owner string, entryID uint64) (Job, error)
	// SettleStep moves a step's entry on (t), adds d to its job and closes
	// the step, in one commit. A settled entry changes nothing again.
	SettleStep(ctx context.Context, id string, entryID uint64, t Transition, d JobDelta) (Entry, Job, error)
}

// AlertStore is what the ledger keeps of alert groups (see AlertGroup).
type AlertStore interface {
	// PutAlert records a notification: it creates the group, or replaces
	// its State, Hash and Firing when Hash differs (Version goes up: the
	// message must change); the same Hash only moves Seen on. Silences
	// that ended by n.Seen go (Version goes up), and so does Moved. A
	// notification one of whose Live alerts the group saw resolved within
	// StaleWindow changes nothing and is answered Stale. It returns the
	// group as stored.
	PutAlert(ctx context.Context, n AlertGroup) (AlertGroup, error)
	// TakeAlert makes by.Owner the group's worker unless another owner
	// whose lease is alive holds it (the lease is written in the same
	// commit), and reports whether by.Owner holds it.
	TakeAlert(ctx context.Context, id string, by Claimant) (AlertGroup, bool, error)
	// StartAlertSend writes a send ahead: in one commit it appends e as a
	// pending entry of the group and records it as the group's send in
	// flight. Only the group's owner may, and only with no send in flight
	// (else an *AlertStateError).
	StartAlertSend(ctx context.Context, id, owner string, send AlertSend, e Entry) (AlertGroup, Entry, error)
	// UpdateAlert changes a group in one commit: c, when set, moves one of
	// its entries, and fn changes the group as stored. With owner set only
	// that owner may (else an *AlertStateError).
	UpdateAlert(ctx context.Context, id, owner string, c *Change, fn func(*AlertGroup) error) (AlertGroup, error)
	// DueAlerts lists groups with work to do (AlertGroup.Due), at most limit.
	DueAlerts(ctx context.Context, limit int) ([]AlertGroup, error)
	// AlertsToWake lists groups whose Wake is at or before at (a silence
	// of theirs ended), at most limit.
	AlertsToWake(ctx context.Context, at time.Time, limit int) ([]AlertGroup, error)
	// KeyAlerts lists the groups of one source's group key in every chat
	// (the chats its route sent it to), at most 200.
	KeyAlerts(ctx context.Context, source, groupKey string) ([]AlertGroup, error)
	// ChatAlerts lists the groups shown in chat whose ID starts with
	// prefix (a short ID typed in a command), at most 20.
	ChatAlerts(ctx context.Context, chat Chat, prefix string) ([]AlertGroup, error)
}

// AdminStore is the store as a whole: whether it takes writes and holds
// them durably, its retention, its integrity, and its end.
type AdminStore interface {
	// Probe makes one small write of no meaning that takes the path an
	// entry's does (fsynced; with MinReplicas, on that many replicas):
	// it succeeds only if the store takes writes now.
	Probe(ctx context.Context) error
	// Sync returns once what the store holds is as durable as its writes
	// (Redis with MinReplicas: on that many replicas); the spool's replay
	// calls it before it forgets a key it found recorded already.
	Sync(ctx context.Context) error
	// Prune deletes entries sent and audit records written before
	// cutoff, and expired temporary values. It works in small steps so
	// writers are never blocked for long.
	Prune(ctx context.Context, cutoff time.Time) (int, error)
	// Check verifies the store's integrity and its indexes. The bot never
	// calls it; ledgertest.Run does after every case, and the crash tests
	// after a kill, so that a backend's indexes are held to its entries.
	Check(ctx context.Context) error
	Close() error
}

// Store is a whole ledger: every role. Implementations are safe for
// concurrent use; every method that writes is durable when it returns.
type Store interface {
	EntryWriter
	EntryReader
	EntryLister
	ClaimStore
	TempStore
	AuditStore
	JobStore
	StepStore
	AlertStore
	ChatStore
	AdminStore
}

// Both stores are whole ledgers.
var (
	_ Store = (*Bolt)(nil)
	_ Store = (*Redis)(nil)
)
