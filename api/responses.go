package api

import (
	"encoding/json"
	"time"
)

// Sent is the answer to POST /v1/messages: the ledger's entry, with its
// process_query_key. A 202 (RecordDelayed) says the message went out
// while the ledger could not take its key: the key waits in the bot's
// local spool and reaches the ledger when it is back; Held says it is
// only in memory (the spool's disk failed too).
type Sent struct {
	Entry
	RecordDelayed bool   `json:"record_delayed,omitempty"`
	Held          bool   `json:"held,omitempty"`
	Message       string `json:"message,omitempty"` // why the record was delayed
}

// The states of a broadcast and of an asynchronous recall.
const (
	JobRunning     = "running"
	JobDone        = "done"
	JobCancelled   = "cancelled"   // a broadcast cancelled, or stopped by a recall of its batch
	JobInterrupted = "interrupted" // a recall whose instance stopped; another finishes it
	JobFailed      = "failed"      // a recall the ledger failed
)

// Broadcast is a broadcast's progress: POST /v1/broadcasts (202), GET and
// DELETE /v1/broadcasts/{batch_id}.
type Broadcast struct {
	BatchID    string `json:"batch_id"`
	State      string `json:"state"` // JobRunning, JobDone or JobCancelled
	Recipients int    `json:"recipients"`
	Sent       int    `json:"sent"`
	Failed     int    `json:"failed"`
	// Cancelled counts the people a cancel kept it from sending to.
	Cancelled int `json:"cancelled"`
	// Pending counts the people not settled yet, those of the calls in
	// flight included.
	Pending   int    `json:"pending"`
	SendCalls int    `json:"send_calls"`
	Steps     int    `json:"steps"` // the send calls its targets take, retries aside
	Excerpt   string `json:"excerpt"`
	Actor     string `json:"actor"`
	Retrying  int    `json:"retrying"` // people flow-controlled, for a later call
	// Refused names the people DingTalk refused, and why; never null.
	Refused []Refusal `json:"refused"`
	// InFlight names the calls that may be on the wire: their people stay
	// pending until DingTalk answers. Never null.
	InFlight    []InFlight `json:"in_flight"`
	CancelledBy string     `json:"cancelled_by,omitempty"`
	Created     time.Time  `json:"created"`
	Updated     time.Time  `json:"updated"`
}

// InFlightPeople is how many people the calls on the wire are for.
func (b Broadcast) InFlightPeople() int {
	n := 0
	for _, f := range b.InFlight {
		n += f.People
	}
	return n
}

// Refusal is a recipient DingTalk refused, and why.
type Refusal struct {
	Target string `json:"target"` // a user id, or a chat's key (group:cid)
	Reason string `json:"reason"`
}

// InFlight is a broadcast's send call that may be on the wire.
type InFlight struct {
	EntryID uint64 `json:"entry_id"`
	People  int    `json:"people"`
}

// Receipt is the answer to a recall (POST /v1/recalls, a retraction, and
// at its end an asynchronous recall): every selected message and its
// outcome.
type Receipt struct {
	Scope     string         `json:"scope"`
	DryRun    bool           `json:"dry_run"`
	Requested int            `json:"requested"`
	Counts    map[string]int `json:"counts"` // messages by outcome
	Calls     int            `json:"calls"`  // recall calls made, or that would be made
	Summary   string         `json:"summary"`
	AuditID   uint64         `json:"audit_id"`
	Items     []Item         `json:"items"` // never null
	// Broadcast, for a batch sent as a broadcast, is what the recall did
	// to it.
	Broadcast *BroadcastStop `json:"broadcast,omitempty"`
	// ReadStatusCost is what asking who has read them would cost: on a
	// dry run that did not ask.
	ReadStatusCost *ReadCost `json:"read_status_cost,omitempty"`
	// ItemsTruncated counts the items an asynchronous recall's record
	// left out (it keeps the first 1,000); Counts covers them all.
	ItemsTruncated int `json:"items_truncated,omitempty"`
}

// Item is one message of a receipt. EntryID, Excerpt, SentAt and Chat are
// set when the ledger knows the message.
type Item struct {
	Outcome         string    `json:"outcome"`
	ProcessQueryKey string    `json:"process_query_key"`
	EntryID         uint64    `json:"entry_id,omitempty"`
	Excerpt         string    `json:"excerpt,omitempty"`
	SentAt          time.Time `json:"sent_at,omitzero"`
	Chat            Chat      `json:"chat,omitzero"`
	Reason          string    `json:"reason,omitempty"`      // DingTalk's, for a failure
	Explanation     string    `json:"explanation,omitempty"` // the reason in words
	Reads           *Reads    `json:"reads,omitempty"`       // when the recall asked
	// RecallableUntil is when the recall window closes on a message a
	// preview would recall (outcome would_recall).
	RecallableUntil time.Time `json:"recallable_until,omitzero"`
}

// MarshalJSON writes the excerpt of every item the ledger knows, empty
// ones too (a template without text), and none for items it does not.
func (it Item) MarshalJSON() ([]byte, error) {
	type item Item // without this method
	if it.EntryID == 0 {
		return json.Marshal(item(it))
	}
	return json.Marshal(struct {
		item
		Excerpt string `json:"excerpt"`
	}{item(it), it.Excerpt})
}

// ReadCost is what asking DingTalk who has read the messages would cost:
// one query call each, at its pace.
type ReadCost struct {
	Calls   int     `json:"calls"`
	Seconds float64 `json:"seconds"`
}

// BroadcastStop is what a recall of a batch did to its broadcast: stopped
// it first (or found it ended), and waited for its calls on the wire.
type BroadcastStop struct {
	BatchID    string `json:"batch_id"`
	Stopped    bool   `json:"stopped"`
	State      string `json:"state"`
	NotSent    int    `json:"not_sent"`   // people it will never send to
	InFlight   int    `json:"in_flight"`  // its calls on the wire when it was stopped
	Unanswered int    `json:"unanswered"` // of them, those still unanswered when the recall stopped waiting
}

// RecallJob is an asynchronous recall: POST /v1/recalls with async (202)
// and GET /v1/recalls/{recall_id}. Receipt is set once it ended.
type RecallJob struct {
	ID        string    `json:"recall_id"`
	State     string    `json:"state"` // JobRunning, JobDone, JobInterrupted or JobFailed
	Actor     string    `json:"actor"`
	Scope     string    `json:"scope,omitempty"`
	Resumed   bool      `json:"resumed,omitempty"` // finished by another run after the first one stopped
	Owner     string    `json:"owner,omitempty"`   // the recall engine running it
	Requested int       `json:"requested"`
	Done      int       `json:"done"`
	Pending   int       `json:"pending"`
	Calls     int       `json:"recall_calls"`
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`
	Receipt   *Receipt  `json:"receipt,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// Conversation is GET /v1/conversations/{id}/messages: a chat's messages,
// newest first.
type Conversation struct {
	Chat     Chat    `json:"chat"`
	Messages []Entry `json:"messages"`
}

// Message is GET /v1/messages/{key}: the entry, and who has read it when
// asked (?read_status=1).
type Message struct {
	Entry
	ReadStatus *Reads `json:"read_status,omitempty"`
}

// AuditTrail is GET /v1/audit: the newest records first.
type AuditTrail struct {
	Records []AuditRecord `json:"records"`
}

// Entries is GET /v1/entries/{state}: entries that need attention.
type Entries struct {
	Entries []Entry `json:"entries"`
}

// Replacement is POST /v1/messages/{key}/replace: the correction, sent,
// and the recall of the original. When the original could not be
// recalled, OriginalRecalled is false and Error says why; the correction
// stays either way.
type Replacement struct {
	Correction       Entry    `json:"correction"`
	OriginalRecalled bool     `json:"original_recalled"`
	Recall           *Receipt `json:"recall,omitempty"`
	Error            string   `json:"error,omitempty"`
}

// AutoRecall is GET /v1/autorecall and POST /v1/autorecall/resume: whether
// the auto-recall breaker is open (automatic recalls paused).
type AutoRecall struct {
	Paused bool `json:"paused"`
}

// Health is GET /healthz.
type Health struct {
	Status string `json:"status"`
}

// Readiness is GET /readyz: 200 when Ready, else 503.
type Readiness struct {
	Ready           bool `json:"ready"`
	StreamConnected bool `json:"stream_connected"`
	LedgerOK        bool `json:"ledger_ok"`        // the ledger answered
	LedgerWritesOK  bool `json:"ledger_writes_ok"` // and takes writes
	// Version is the running build, as `recallbot version` prints it.
	Version string `json:"version,omitempty"`
}

// AlertsTaken is the answer to an alert notification (POST
// /v1/alerts/{source}): the route it took, the alert groups it updated (by
// their short ids) and the notification's status.
type AlertsTaken struct {
	Route  string   `json:"route"`
	Groups []string `json:"groups"`
	Status string   `json:"status"`
}
