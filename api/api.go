// Package api is the contract of recallbot's local HTTP API: the request
// and response bodies of every route, the error envelope, and Client, a
// small Go client with one method per route.
//
// The JSON of each route is written down once, here: the server (package
// httpapi, through package operator) writes these types, the operator's
// console reads them, and Client reads them over HTTP for the CLI and any
// Go program. The package needs nothing but the standard library: a
// program that wants its messages ledgered and recallable imports it and
// nothing of the bot.
package api

import "time"

// Family is the kind of chat a message goes to; DingTalk has one API
// family for each.
type Family string

// The three families.
const (
	Private Family = "private" // a person-to-person chat with the cool app
	OTO     Family = "oto"     // a user's 1:1 chat with the bot, addressed by user id
	Group   Family = "group"   // a group chat
)

// Chat names a conversation: a private or group chat by its
// openConversationId, an oto chat by the user's staffId.
type Chat struct {
	Family         Family `json:"family"`
	ConversationID string `json:"conversation_id,omitempty"`
	UserID         string `json:"user_id,omitempty"`
}

// GroupChat is the group chat with openConversationId id.
func GroupChat(id string) Chat { return Chat{Family: Group, ConversationID: id} }

// PrivateChat is the person-to-person chat with openConversationId id.
func PrivateChat(id string) Chat { return Chat{Family: Private, ConversationID: id} }

// UserChat is the 1:1 chat of the bot with the user whose staffId is id.
func UserChat(id string) Chat { return Chat{Family: OTO, UserID: id} }

// State is where a message is in its life.
type State string

// The states, in life order.
const (
	StatePending      State = "pending"       // sent, or being sent, with no answer yet: resolve it if it lasts
	StateSent         State = "sent"          // DingTalk returned its process_query_key
	StateSendFailed   State = "send_failed"   // DingTalk refused it, or it never left
	StateUnknown      State = "unknown"       // closed without an answer: it may be in the chat, with no key
	StateRecalling    State = "recalling"     // a recall holds it
	StateRecalled     State = "recalled"      // DingTalk confirmed the recall
	StateRecallFailed State = "recall_failed" // DingTalk refused the recall; Reason says why
	StateExpired      State = "expired"       // past the recall window
)

// Entry is the ledger's record of one message the bot sent.
type Entry struct {
	ID   uint64 `json:"id"`
	Chat Chat   `json:"chat"`
	// ChatName is the chat in the bot's language, by what DingTalk said
	// of it (a group's title, whom a one-to-one chat is with) where the
	// bot knows, else by its id: what to show a person. Set in lists.
	ChatName string `json:"chat_name,omitempty"`
	// ProcessQueryKey is DingTalk's key of the message: what a recall names.
	ProcessQueryKey string    `json:"process_query_key,omitempty"`
	MsgKey          string    `json:"msg_key"`
	Excerpt         string    `json:"excerpt"`      // the first 80 characters of what a reader sees, secrets redacted
	ContentHash     string    `json:"content_hash"` // for duplicate detection
	SentAt          time.Time `json:"sent_at"`
	Origin          string    `json:"origin"`          // command, api or auto
	Actor           string    `json:"actor,omitempty"` // who caused the send: a staffId, "api:<client>", a rule
	BatchID         string    `json:"batch_id,omitempty"`
	ExpiresAt       time.Time `json:"expires_at,omitzero"` // when it recalls itself
	State           State     `json:"state"`
	Reason          string    `json:"reason,omitempty"`      // a code: DingTalk's, or the bot's own (why it failed, who resolved it)
	Explanation     string    `json:"explanation,omitempty"` // the reason in words, in the bot's language
	UpdatedAt       time.Time `json:"updated_at"`
	Supersedes      uint64    `json:"supersedes,omitempty"`    // the entry this one corrects
	SupersededBy    uint64    `json:"superseded_by,omitempty"` // the correction of this one
	ClaimedBy       string    `json:"claimed_by,omitempty"`    // the recall that last claimed it
	DueAt           time.Time `json:"due_at,omitzero"`         // when a self-destruct is next tried
	// Recipients are the people one packed key reached (a broadcast sends
	// to up to 20 with one key); recalling it takes it back from them all.
	Recipients []string `json:"recipients,omitempty"`
	AlertGroup string   `json:"alert_group,omitempty"` // the alert group the message shows
}

// Reads is who had read a message when DingTalk was asked.
type Reads struct {
	SendStatus string   `json:"send_status,omitempty"` // DingTalk's: SUCCESS, PROCESSING, RECALLED
	Read       int      `json:"read"`
	Recipients int      `json:"recipients,omitempty"` // known for oto messages only
	Readers    []string `json:"readers,omitempty"`    // their staffIds
	Error      string   `json:"error,omitempty"`      // why DingTalk could not say
}

// AuditRecord is one attempt on the record: a recall, a dry run, a
// resolution, a refusal.
type AuditRecord struct {
	ID      uint64    `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Scope   string    `json:"scope"`
	Allowed bool      `json:"allowed"`
	// Outcomes maps each key (or "#<entry id>") to its outcome.
	Outcomes map[string]string `json:"outcomes,omitempty"`
	Note     string            `json:"note,omitempty"`
	Trail    string            `json:"trail,omitempty"` // "" (recalls) or "access" (refused requests)
	// About is what the record is about as facts, and Why a refusal's
	// reason as a code ("not_admin"): Scope and Note are them in the
	// bot's words. Records older than these facts have neither.
	About *AuditAbout `json:"about,omitempty"`
	Why   string      `json:"why,omitempty"`
}

// AuditAbout is what an audit record is about: at most one of Keys,
// Last, Since, Batch, Entries or Entry (a recall's selection, or one
// entry resolved); Chat is the chat it names or where it happened.
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
	// Sender is who asked for what a rule blocked.
	Sender string `json:"sender,omitempty"`
	// Alert is the alert group a command was about, by its shown id.
	Alert string `json:"alert,omitempty"`
	// Frame is the Stream message id of a frame the bot could not read.
	Frame string `json:"frame,omitempty"`
}

// TrailAccess names the access trail in AuditQuery: refused requests and
// logins, kept apart from the recall trail.
const TrailAccess = "access"
