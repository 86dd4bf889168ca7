package operator

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// The operator's reads: a chat's messages, one message (and who has read
// it), the audit trail, the entries that need attention.

// Conversation lists a chat's messages, newest first: q.Limit of them
// (default 50, at most 500) older than entry q.Before. Without q.Family the
// chat is whichever the ledger knows id as; with OTO, id is a user id.
func (o *Operator) Conversation(ctx context.Context, id string, q api.ConversationQuery) (api.Conversation, error) {
	limit := q.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var chat ledger.Chat
	switch f := ledger.Family(q.Family); f {
	case ledger.OTO:
		chat = ledger.Chat{Family: f, UserID: id}
	case ledger.Private, ledger.Group:
		chat = ledger.Chat{Family: f, ConversationID: id}
	case "":
		c, err := o.findChat(ctx, id)
		var down *unavailable
		if errors.As(err, &down) {
			return api.Conversation{}, o.ledgerDown("what.conversation", err)
		}
		if err != nil {
			return api.Conversation{}, refused(http.StatusNotFound, "unknown_conversation", "no_conversation", id).about("conversation_id")
		}
		chat = c
	default:
		return api.Conversation{}, badRequest("family")
	}
	es, err := o.led.List(ctx, ledger.Query{Chat: chat, Limit: limit, Before: q.Before})
	if err != nil {
		return api.Conversation{}, o.ledgerDown("what.conversation", err)
	}
	return api.Conversation{Chat: chatOf(chat), Messages: entriesOf(es, o.cfg.Locale, o.namesOf(ctx, []ledger.Chat{chat}))}, nil
}

// Message is the entry of the message with process_query_key key; with
// readStatus, DingTalk is asked who has read it (one query call).
func (o *Operator) Message(ctx context.Context, key string, readStatus bool) (api.Message, error) {
	e, err := o.led.ByKey(ctx, key)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return api.Message{}, notFound("no_message")
	case err != nil:
		return api.Message{}, o.ledgerDown("what.message", err)
	}
	m := api.Message{Entry: entryOf(e, o.cfg.Locale)}
	if readStatus {
		rd, err := o.engine.ReadStatus(ctx, e)
		if err != nil {
			return api.Message{}, NewRefusal(http.StatusServiceUnavailable, "read_status_unavailable", func(locale string) string { return dingtalk.Describe(err, locale) })
		}
		r := readsOf(rd)
		m.ReadStatus = &r
	}
	return m, nil
}

// Audit is the newest q.Limit records (default 20, at most 500) of the
// recall trail, or of the access trail.
func (o *Operator) Audit(ctx context.Context, q api.AuditQuery) (api.AuditTrail, error) {
	if q.Trail != "" && q.Trail != ledger.TrailAccess {
		return api.AuditTrail{}, badRequest("trail")
	}
	n := q.Limit
	if n == 0 {
		n = 20
	}
	recs, err := o.led.Audit(ctx, ledger.AuditQuery{Limit: min(max(n, 1), 500), Trail: q.Trail})
	if err != nil {
		return api.AuditTrail{}, o.ledgerDown("what.audit", err)
	}
	return api.AuditTrail{Records: auditOf(recs, o.cfg.Locale, o.chatNames(ctx, recs))}, nil
}

// chatNames names the chats the records are about by what DingTalk said
// of them (a group's title, whom a 1:1 chat is with); a chat it said
// nothing of, or a ledger that cannot tell now, is named by its id.
func (o *Operator) chatNames(ctx context.Context, recs []ledger.AuditRecord) recall.Names {
	var chats []ledger.Chat
	for _, r := range recs {
		if r.About != nil && r.About.Chat != nil {
			chats = append(chats, *r.About.Chat)
		}
	}
	return o.namesOf(ctx, chats)
}

// namesOf names chats by what DingTalk said of them, as chatNames does.
func (o *Operator) namesOf(ctx context.Context, chats []ledger.Chat) recall.Names {
	infos, err := o.led.ChatInfos(ctx, chats)
	if err != nil {
		o.cfg.Log.Warn("chat names not read: chats are named by their ids", zap.Error(err))
	}
	return func(c ledger.Chat) string { return recall.ChatWords(c, infos[c.Key()], o.cfg.Locale) }
}

// states are the ledger's states, as codes: joined with ", " in English
// and with "、" in Chinese, as a list of words reads in each.
var states Words = func(locale string) string {
	s := make([]string, len(ledger.States))
	for i, st := range ledger.States {
		s[i] = string(st)
	}
	if locale == "en" {
		return strings.Join(s, ", ")
	}
	return strings.Join(s, "、")
}

// maxEntries bounds the entries listed in one state.
const maxEntries = 500

// Entries lists entries in a state that needs attention: pending (send
// outcome unknown), recalling, recall_failed.
func (o *Operator) Entries(ctx context.Context, state api.State) (api.Entries, error) {
	st := ledger.State(state)
	if !st.Valid() {
		return api.Entries{}, badRequest("state", recall.Value(st), states)
	}
	es, err := o.led.InState(ctx, st, maxEntries)
	if err != nil {
		return api.Entries{}, o.ledgerDown("what.entries", err)
	}
	chats := make([]ledger.Chat, len(es))
	for i, e := range es {
		chats[i] = e.Chat
	}
	return api.Entries{Entries: entriesOf(es, o.cfg.Locale, o.namesOf(ctx, chats))}, nil
}
