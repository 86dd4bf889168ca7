package api

import "encoding/json"

// The request bodies. The server reads them strictly: a field it does not
// know, or a key given twice, is a 400 and nothing is done. Client names
// the caller in the ledger and the audit trail as "api:<client>": at most
// 64 characters of printable text.

// Content is a message: text (markdown when Title is given), or one of
// DingTalk's templates by its msgKey with its msgParam (a JSON object, or
// a string holding one).
type Content struct {
	Text     string          `json:"text,omitempty"`
	Title    string          `json:"title,omitempty"`
	MsgKey   string          `json:"msg_key,omitempty"`
	MsgParam json.RawMessage `json:"msg_param,omitempty"`
}

// SendRequest is POST /v1/messages: one message to one chat, ledgered
// before it is sent.
type SendRequest struct {
	Chat
	Content
	BatchID string `json:"batch_id,omitempty"` // groups messages for one recall
	// ExpiresIn recalls the message by itself after this long: a Go
	// duration ("90s", "2h") within DingTalk's 24 h recall window.
	ExpiresIn string `json:"expires_in,omitempty"`
	Client    string `json:"client,omitempty"`
}

// BroadcastRequest is POST /v1/broadcasts: one message to many chats, as
// a durable job. UserIDs is the compact form of oto targets.
type BroadcastRequest struct {
	Targets []Chat   `json:"targets,omitempty"`
	UserIDs []string `json:"user_ids,omitempty"`
	Content
	BatchID   string `json:"batch_id,omitempty"` // default: one is chosen
	ExpiresIn string `json:"expires_in,omitempty"`
	Client    string `json:"client,omitempty"`
}

// RecallRequest is POST /v1/recalls: the same selections as the chat
// command. A chat (ConversationID, with Family or whichever the ledger
// knows, or UserID) with Last or Since; or Keys; or a BatchID. Matching
// narrows any of them to messages whose text contains it.
type RecallRequest struct {
	Family         Family   `json:"family,omitempty"`
	ConversationID string   `json:"conversation_id,omitempty"`
	UserID         string   `json:"user_id,omitempty"`
	Last           int      `json:"last,omitempty"`
	Since          string   `json:"since,omitempty"` // a duration back from now ("30m") or an RFC 3339 time
	Keys           []string `json:"keys,omitempty"`
	BatchID        string   `json:"batch_id,omitempty"`
	Matching       string   `json:"matching,omitempty"`
	DryRun         bool     `json:"dry_run,omitempty"` // a preview: nothing is recalled, the attempt is audited
	Client         string   `json:"client,omitempty"`
	// Async answers 202 at once with a RecallJob; the recall runs on in
	// the bot, and GET /v1/recalls/{id} follows it. For large batches.
	Async bool `json:"async,omitempty"`
	// ReadStatus asks DingTalk who has read each message first: one query
	// call per message.
	ReadStatus bool `json:"read_status,omitempty"`
}

// ResolveRequest is POST /v1/entries/{id}/resolve: what became of a send
// in doubt. State sent needs the ProcessQueryKey; send_failed and
// unknown need nothing more.
type ResolveRequest struct {
	State           State  `json:"state"`
	ProcessQueryKey string `json:"process_query_key,omitempty"`
	Note            string `json:"note,omitempty"`
	Client          string `json:"client,omitempty"`
}

// ReplaceRequest is POST /v1/messages/{key}/replace: the correction that
// supersedes the message, which is then recalled.
type ReplaceRequest struct {
	Content
	Client string `json:"client,omitempty"`
}

// RetractRequest is POST /v1/messages/{key}/retract: the message is
// recalled, and the reason is said in its chat.
type RetractRequest struct {
	Reason string `json:"reason"`
	Client string `json:"client,omitempty"`
}

// ConversationQuery is what GET /v1/conversations/{id}/messages takes in
// its query: the chat's Family (default: whichever the ledger knows; oto
// for a user id), at most Limit messages (default 50, at most 500), older
// than entry Before.
type ConversationQuery struct {
	Family Family
	Limit  int
	Before uint64
}

// AuditQuery is what GET /v1/audit takes in its query: the newest Limit
// records (default 20, at most 500) of the recall trail, or of the access
// trail (Trail TrailAccess).
type AuditQuery struct {
	Limit int
	Trail string
}
