// Package ledger is recallbot's durable memory of every message it sent.
//
// DingTalk offers no way to list a bot's messages: a message whose
// processQueryKey is lost can never be recalled. So each outgoing message is
// written here as pending before the send API is called, becomes sent with
// its key as soon as the key returns, and moves through the recall states
// atomically, so that no key is ever handed out for recall twice.
//
// Two stores implement Store: the embedded bbolt file (Open, the default)
// and Redis (OpenRedis), for several bot instances sharing one ledger. Store
// is made of roles (roles.go: EntryWriter, ClaimStore, AuditStore, ...);
// each consumer takes only the roles it uses. One conformance suite,
// ledgertest.Run, holds both stores to the contract. A Spool, a local file
// per process, holds the keys a store could not take when they came, until
// it can.
package ledger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Family is the DingTalk API family a message was sent through; it decides
// which recall API takes it back.
type Family string

// The three families.
const (
	Private Family = "private" // privateChatMessages: person-to-person chats with the cool app
	OTO     Family = "oto"     // oToMessages: a user's 1:1 chat with the bot
	Group   Family = "group"   // groupMessages: group chats
)

// Valid reports whether f is one of the three families.
func (f Family) Valid() bool { return f == Private || f == OTO || f == Group }

// Chat identifies a conversation the bot sends into.
type Chat struct {
	Family Family `json:"family"`
	// ConversationID is the openConversationId (private and group chats).
	ConversationID string `json:"conversation_id,omitempty"`
	// UserID is the recipient's staffId (oto chats, which DingTalk
	// addresses by user, not by conversation).
	UserID string `json:"user_id,omitempty"`
}

// Key is the chat's identity in the ledger's indexes: "private:cid",
// "group:cid" or "oto:userId".
func (c Chat) Key() string {
	if c.Family == OTO {
		return string(OTO) + ":" + c.UserID
	}
	return string(c.Family) + ":" + c.ConversationID
}

func (c Chat) String() string { return c.Key() }

// Validate reports what is missing from c.
func (c Chat) Validate() error {
	switch {
	case !c.Family.Valid():
		return fmt.Errorf("chat family %q is not private, oto or group", c.Family)
	case c.Family == OTO && c.UserID == "":
		return errors.New("an oto chat needs the recipient's user id")
	case c.Family != OTO && c.ConversationID == "":
		return fmt.Errorf("a %s chat needs a conversation id", c.Family)
	case strings.ContainsRune(c.ConversationID+c.UserID, 0):
		return errors.New("chat ids must not contain NUL")
	}
	return nil
}

// State is where a message is in its life.
type State string

// The states and their transitions:
//
//	pending -> sent | send_failed | unknown
//	unknown -> sent (the key turned up after all, e.g. from the spool)
//	sent -> recalling | expired
//	recalling -> recalled | recall_failed | expired | sent (the recall call was never made)
//	recall_failed -> recalling | expired
const (
	Pending      State = "pending"       // written before the send API call; outcome unknown until it returns
	Sent         State = "sent"          // DingTalk returned its processQueryKey
	SendFailed   State = "send_failed"   // DingTalk refused it, or it never left: nothing to recall
	Unknown      State = "unknown"       // closed without an answer: it may be in the chat, with no key
	Recalling    State = "recalling"     // claimed by a recall in progress
	Recalled     State = "recalled"      // DingTalk confirmed the recall
	RecallFailed State = "recall_failed" // DingTalk refused the recall; Reason says why
	Expired      State = "expired"       // past the recall window: can no longer be recalled
)

// States lists every state, in life order.
var States = []State{Pending, Sent, SendFailed, Unknown, Recalling, Recalled, RecallFailed, Expired}

var transitions = map[State][]State{
	Pending:      {Sent, SendFailed, Unknown},
	Unknown:      {Sent},
	Sent:         {Recalling, Expired},
	Recalling:    {Recalled, RecallFailed, Expired, Sent},
	RecallFailed: {Recalling, Expired},
}

// Valid reports whether s is one of States.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return len(transitions[s]) == 0 }

// Recallable reports whether a message in state s may be claimed for recall.
func (s State) Recallable() bool { return s == Sent || s == RecallFailed }

// Origin says why a message was sent.
type Origin string

// Origins.
const (
	OriginCommand Origin = "command" // a reply to a chat command, or a report to the admins: never chosen by "last N"
	OriginAPI     Origin = "api"     // the local HTTP API or an embedding program
	OriginAuto    Origin = "auto"    // the bot on its own (notices, alerts)
)

// Entry is one outgoing message.
type Entry struct {
	ID              uint64    `json:"id"`
	Chat            Chat      `json:"chat"`
	ProcessQueryKey string    `json:"process_query_key,omitempty"`
	MsgKey          string    `json:"msg_key"`
	Excerpt         string    `json:"excerpt"`      // the first 80 characters of what a reader sees, on one line: for previews, receipts and "recall matching"
	ContentHash     string    `json:"content_hash"` // hex SHA-256 prefix of the content, for duplicate detection
	SentAt          time.Time `json:"sent_at"`      // when the send was attempted
	Origin          Origin    `json:"origin"`
	Actor           string    `json:"actor,omitempty"` // who caused the send: a staffId, an API client, a rule
	BatchID         string    `json:"batch_id,omitempty"`
	ExpiresAt       time.Time `json:"expires_at,omitzero"` // self-destruct time; zero for none
	State           State     `json:"state"`
	Reason          string    `json:"reason,omitempty"` // DingTalk's reason for send_failed or recall_failed
	UpdatedAt       time.Time `json:"updated_at"`
	Supersedes      uint64    `json:"supersedes,omitempty"`    // the entry this one corrects
	SupersededBy    uint64    `json:"superseded_by,omitempty"` // the correction of this one
	// ClaimedBy is the recall engine that last claimed the entry (see
	// Claimant); while the entry is recalling, only that owner may settle
	// it, and another may take it over only when the owner's lease is gone.
	ClaimedBy string `json:"claimed_by,omitempty"`
	// DueAt is when a self-destruct is next tried: ExpiresAt at first,
	// later after a transient failure, zero once nothing more is to be
	// tried. Due lists recallable entries whose DueAt has come.
	DueAt time.Time `json:"due_at,omitzero"`
	// Recipients are the users one oToMessages/batchSend call reached
	// with this one key (up to 20), when there are several; Chat.UserID is
	// the first. The entry is listed in each recipient's chat, and
	// recalling its key takes the message back from all of them.
	Recipients []string `json:"recipients,omitempty"`
	// Alert is the alert group (AlertGroup.ID) the message shows, for the
	// messages of Alertmanager's and Grafana's notifications.
	Alert string `json:"alert_group,omitempty"`
}

// Chats is every chat the entry's message is in: its Chat, or one oto
// chat per recipient of a packed key.
func (e Entry) Chats() []Chat {
	if len(e.Recipients) == 0 {
		return []Chat{e.Chat}
	}
	out := make([]Chat, len(e.Recipients))
	for i, u := range e.Recipients {
		out[i] = Chat{Family: OTO, UserID: u}
	}
	return out
}

// Reach is how many people the message reached: its recipients, or 1.
func (e Entry) Reach() int { return max(len(e.Recipients), 1) }

// Transition is a requested change of an entry's state.
type Transition struct {
	To     State
	Key    string    // the processQueryKey, required for pending -> sent
	Reason string    // for send_failed, recall_failed, expired, unknown
	At     time.Time // default: now
	// Owner, when set, is the claimant settling a recalling entry: the
	// transition is refused if another owner holds the claim (it took
	// the claim over after this owner's lease lapsed).
	Owner string
	// Recipients, with pending -> sent of a packed key, are the users
	// DingTalk reached (the rest were invalid or flow-controlled); nil
	// keeps them all.
	Recipients []string
}

// Claimant is who claims entries for a recall: a recall engine, named
// uniquely per process, holding a lease in the ledger (namespace LeaseNS)
// that it renews while it works. Claims of an owner whose lease has lapsed
// may be taken over (TakeOver); claims of a live owner never are.
type Claimant struct {
	Owner string
	At    time.Time
	// LeaseTTL is how long the owner's lease lives from At unless renewed;
	// the claim writes it in the same commit.
	LeaseTTL time.Duration
}

// LeaseNS is the temporary-value namespace of claim leases: one record per
// owner, renewed with PutTemp(ctx, LeaseNS, owner, nil, ttl).
const LeaseNS = "lease"

// Change is one transition of TransitionAll.
type Change struct {
	ID uint64
	Transition
}

// Once names a one-time claim: an id in a namespace, remembered for TTL.
type Once struct {
	NS, ID string
	TTL    time.Duration
}

// Query selects entries of one chat, newest first.
type Query struct {
	Chat Chat
	// Limit caps the result; 0 means 100.
	Limit int
	// Before pages backwards: only entries with a smaller ID.
	Before uint64
	// Since keeps only entries sent at or after this time.
	Since time.Time
	// States keeps only entries in these states; empty keeps all.
	States []State
	// SkipOrigin leaves out entries of this origin (the bot's replies to
	// commands, which "/recall last 5" is not about).
	SkipOrigin Origin
	// Contains keeps only entries whose excerpt contains it, ignoring case
	// (what the ledger keeps of a message: see Entry.Excerpt).
	Contains string
}

// keep reports whether e passes the query's filters (not Since).
func (q Query) keep(e Entry) bool {
	return wanted(q.States, e.State) && (q.SkipOrigin == "" || e.Origin != q.SkipOrigin) &&
		(q.Contains == "" || containsFold(e.Excerpt, q.Contains))
}

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Counts is the number of entries in each state.
type Counts map[State]int64

// Total is the number of entries.
func (c Counts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// AuditRecord is one recall attempt, allowed or denied, on the record.
type AuditRecord struct {
	ID     uint64    `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // a staffId, "api:<client>", "rule:<name>"
	Action string    `json:"action"` // "recall", "dry_run", "denied", ...
	// Scope is the selection in words, as written by records older than
	// About: shown as it is. Newer records leave it for what has no facts
	// to render (an HTTP route, a frame id).
	Scope   string `json:"scope"`
	Allowed bool   `json:"allowed"`
	// About is what the record is about, as facts (a selection, a chat),
	// rendered in the reader's language when it is shown; nil in records
	// written before it.
	About *AuditAbout `json:"about,omitempty"`
	// Why is a refusal's or a finding's reason as a code ("not_admin"),
	// rendered when shown; Note keeps free text (what a person typed, a
	// rule's finding) and the words of older records.
	Why string `json:"why,omitempty"`
	// Outcomes maps each processQueryKey (or "#<entry id>" for entries
	// without one) to its outcome.
	Outcomes map[string]string `json:"outcomes,omitempty"`
	Note     string            `json:"note,omitempty"`
	// Trail is where the record is kept: the recall trail ("", what
	// /audit shows) or TrailAccess (refused HTTP requests and other
	// noise an outsider can cause), kept apart so that a flood of noise
	// never buries a real record.
	Trail string `json:"trail,omitempty"`
}

// AuditAbout is what an audit record is about, as facts: at most one of
// Keys, Last, Since, Batch, Entries or Entry is set (a recall's
// selection, or one entry resolved), Chat is the chat it names or where
// it happened, Matching the text a recall matched, Count what a summary
// record counts.
type AuditAbout struct {
	Keys     int       `json:"keys,omitempty"`
	Chat     *Chat     `json:"chat,omitempty"`
	Last     int       `json:"last,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Batch    string    `json:"batch,omitempty"`
	Entries  int       `json:"entries,omitempty"`
	Entry    uint64    `json:"entry,omitempty"`
	Matching string    `json:"matching,omitempty"`
	Count    int       `json:"count,omitempty"`
	// Sender is who asked for what a rule blocked (an actor, as Actor).
	Sender string `json:"sender,omitempty"`
	// Alert is the alert group a command was about, by the id its card
	// shows.
	Alert string `json:"alert,omitempty"`
	// Frame is the Stream message id of a frame the bot could not read.
	Frame string `json:"frame,omitempty"`
}

// TrailAccess is the audit trail of refused access: unauthenticated HTTP
// requests, aggregated per minute.
const TrailAccess = "access"

// AuditQuery selects audit records, newest first.
type AuditQuery struct {
	// Limit caps the result; 0 means 20.
	Limit int
	// Trail is "" for the recall trail or TrailAccess.
	Trail string
}

// ErrNotFound is matched by errors.Is for every lookup that finds nothing.
var ErrNotFound = errors.New("not found")

// NotFoundError says what was not found.
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string        { return "ledger: no " + e.What }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// TransitionError is a state change the state machine forbids.
type TransitionError struct {
	ID       uint64
	From, To State
	Why      string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("ledger: entry %d cannot go from %s to %s: %s", e.ID, e.From, e.To, e.Why)
}

// apply validates t against e and returns the changed entry, or e itself
// and changed=false when the transition already happened.
func apply(e Entry, t Transition) (Entry, bool, error) {
	if t.At.IsZero() {
		t.At = time.Now()
	}
	t.At = norm(t.At)
	if e.State == t.To {
		same := (t.To != Sent || t.Key == "" || t.Key == e.ProcessQueryKey) && (t.Reason == "" || t.Reason == e.Reason)
		if same {
			return e, false, nil
		}
		return e, false, &TransitionError{e.ID, e.State, t.To, "it is already " + string(t.To) + " with other data"}
	}
	if e.State == Recalling && t.Owner != "" && e.ClaimedBy != "" && e.ClaimedBy != t.Owner {
		return e, false, &TransitionError{e.ID, e.State, t.To, "another recall (" + e.ClaimedBy + ") took the claim over"}
	}
	allowed := false
	for _, s := range transitions[e.State] {
		allowed = allowed || s == t.To
	}
	if !allowed {
		why := "not a transition the ledger allows"
		switch {
		case e.State == Pending && t.To == Recalling:
			why = "its send has not returned a processQueryKey yet"
		case e.State == Recalled:
			why = "it was recalled already; a recalled message is final"
		case e.State.Terminal():
			why = string(e.State) + " is final"
		}
		return e, false, &TransitionError{e.ID, e.State, t.To, why}
	}
	if t.To == Sent && (e.State == Pending || e.State == Unknown) {
		if t.Key == "" {
			return e, false, &TransitionError{e.ID, e.State, t.To, "a sent entry needs its processQueryKey"}
		}
		e.ProcessQueryKey = t.Key
		if t.Recipients != nil && len(e.Recipients) > 0 {
			if len(t.Recipients) == 0 {
				return e, false, &TransitionError{e.ID, e.State, t.To, "a sent entry reached somebody"}
			}
			e.Recipients = slices.Clone(t.Recipients)
			e.Chat.UserID = e.Recipients[0]
			if len(e.Recipients) == 1 {
				e.Recipients = nil
			}
		}
	}
	if t.Reason != "" || t.To == Recalled || t.To == Sent {
		e.Reason = t.Reason
	}
	e.State, e.UpdatedAt = t.To, t.At
	if !e.State.Recallable() && e.State != Recalling {
		e.DueAt = time.Time{} // nothing more to try
	}
	return e, true, nil
}

// claim moves a recallable entry to recalling for by.
func claim(e Entry, by Claimant) (Entry, error) {
	e, _, err := apply(e, Transition{To: Recalling, At: by.At})
	e.ClaimedBy = by.Owner
	return e, err
}

// lapsed reports whether a recalling entry's claim may be taken over: its
// owner's lease is gone (alive reports it), or, for an ownerless claim of
// an older version, it is older than staleBefore.
func lapsed(e Entry, alive func(owner string) bool, staleBefore time.Time) bool {
	if e.State != Recalling {
		return false
	}
	if e.ClaimedBy == "" {
		return e.UpdatedAt.Before(staleBefore)
	}
	return !alive(e.ClaimedBy)
}

// due reports whether e belongs in the due index.
func (e Entry) due() bool { return !e.DueAt.IsZero() && e.State.Recallable() }

// maxRecipients is the most users one oToMessages/batchSend call takes.
const maxRecipients = 20

// prepare validates a new entry and fills its defaults.
func prepare(e Entry) (Entry, error) {
	if len(e.Recipients) > 0 {
		if e.Chat.Family != OTO || len(e.Recipients) > maxRecipients {
			return e, fmt.Errorf("recipients are for oto messages, at most %d", maxRecipients)
		}
		for _, u := range e.Recipients {
			if u == "" || strings.ContainsRune(u, 0) {
				return e, errors.New("a recipient's user id is empty or holds NUL")
			}
		}
		e.Recipients = slices.Compact(slices.Clone(e.Recipients))
		e.Chat.UserID = e.Recipients[0]
		if len(e.Recipients) == 1 {
			e.Recipients = nil
		}
	}
	if err := e.Chat.Validate(); err != nil {
		return e, err
	}
	if strings.ContainsRune(e.BatchID, 0) {
		return e, errors.New("batch ids must not contain NUL")
	}
	if e.SentAt.IsZero() {
		e.SentAt = time.Now()
	}
	if e.Origin == "" {
		e.Origin = OriginAPI
	}
	e.SentAt, e.ExpiresAt = norm(e.SentAt), norm(e.ExpiresAt)
	e.ID, e.State, e.UpdatedAt, e.ProcessQueryKey, e.ClaimedBy = 0, Pending, e.SentAt, "", ""
	e.DueAt = e.ExpiresAt
	return e, nil
}

// norm drops the monotonic reading and location, so that an entry compares
// equal to itself after a round trip through a store.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(0, t.UnixNano())
}

// tracked is the set of states InState can list.
func tracked(s State) bool { return s == Pending || s == Recalling || s == RecallFailed }

func checkTracked(s State) error {
	if !tracked(s) {
		return fmt.Errorf("ledger: InState lists pending, recalling or recall_failed, not %s", s)
	}
	return nil
}

func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
