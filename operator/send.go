package operator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// message converts a request's content to a DingTalk message: text (sent
// as markdown when a title is given) or an explicit template. Its error
// is a *Refusal.
func message(c api.Content) (dingtalk.Message, error) {
	switch {
	case c.MsgKey != "" && c.Text != "":
		return dingtalk.Message{}, badRequest("text_and_template")
	case c.MsgKey != "":
		m := dingtalk.Message{MsgKey: c.MsgKey, MsgParam: c.MsgParam}
		if s, ok := unquote(c.MsgParam); ok { // msg_param given as a JSON string, DingTalk style
			m.MsgParam = json.RawMessage(s)
		}
		if m.Validate() != nil { // its one other check, a msg_key, holds here
			return m, badRequest("msg_param_object")
		}
		return m, nil
	case strings.TrimSpace(c.Text) == "":
		return dingtalk.Message{}, badRequest("text_required").about("text")
	case c.Title != "":
		return dingtalk.Markdown(c.Title, c.Text), nil
	}
	return dingtalk.Text(c.Text), nil
}

func unquote(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return "", false
}

// batchIDShape is what a batch id may be: it is shown in chat ("/recall
// batch ID"), in URLs and in logs, so it is a plain word.
var batchIDShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

func sendOptions(actor, batch, expires string) (recall.SendOptions, error) {
	o := recall.SendOptions{Origin: ledger.OriginAPI, Actor: actor, BatchID: batch}
	if batch != "" && !batchIDShape.MatchString(batch) {
		return o, badRequest("batch_id_shape", recall.Value(batch)).about("batch_id")
	}
	if expires != "" {
		d, err := time.ParseDuration(expires)
		if err != nil || d <= 0 {
			return o, badRequest("expires_in_shape", recall.Value(expires)).about("expires_in")
		}
		o.ExpiresIn = d
	}
	return o, nil
}

// Send sends one message through the Sender: ledgered before it goes, its
// key recorded after. A send that went out while the ledger could not
// take its key is Sent with RecordDelayed (the API's 202).
func (o *Operator) Send(ctx context.Context, req api.SendRequest) (api.Sent, error) {
	who, err := caller(req.Client)
	if err != nil {
		return api.Sent{}, err
	}
	chat := ledgerChat(req.Chat)
	m, err := message(req.Content)
	if err == nil {
		err = checkChat(chat)
	}
	opts, oerr := sendOptions(who, req.BatchID, req.ExpiresIn)
	if err == nil {
		err = oerr
	}
	if err == nil {
		err = o.checkExpiry(opts.ExpiresIn)
	}
	if err != nil {
		return api.Sent{}, err
	}
	e, err := o.sender.Send(ctx, chat, m, opts)
	switch {
	case errors.Is(err, recall.ErrRecordHeld):
		return api.Sent{Entry: entryOf(e, o.cfg.Locale), RecordDelayed: true, Held: true, Message: say("record_held").In(o.Locale())}, nil
	case errors.Is(err, recall.ErrRecordDelayed):
		return api.Sent{Entry: entryOf(e, o.cfg.Locale), RecordDelayed: true, Message: say("record_delayed").In(o.Locale())}, nil
	case err != nil:
		return api.Sent{}, o.sendError(e, err)
	}
	return api.Sent{Entry: entryOf(e, o.cfg.Locale)}, nil
}

// sendError maps a failed send to a status: 400 for what the caller can
// fix, 422 when a rule blocked it, 502 when DingTalk refused, 503 when it
// was not sent (the ledger or DingTalk could not be reached), 504 when the
// outcome is unknown. The entry goes with DingTalk's answers.
func (o *Operator) sendError(e ledger.Entry, err error) *Refusal {
	var ae *dingtalk.APIError
	var re *dingtalk.RecipientError
	var be *autorecall.BlockedError
	entry := entryOf(e, o.cfg.Locale)
	switch {
	case errors.As(err, &be):
		return blocked(be)
	case errors.Is(err, recall.ErrLedgerUnavailable):
		o.cfg.Log.Error("send refused: ledger unavailable", zap.Error(err))
		return refused(http.StatusServiceUnavailable, "ledger_unavailable", "ledger_down.not_sent")
	}
	// DingTalk's answers, explained in the reader's language.
	described := func(locale string) string { return dingtalk.Describe(err, locale) }
	var r *Refusal
	switch {
	case errors.Is(err, recall.ErrNotSent) && errors.As(err, &ae):
		r = refused(http.StatusBadGateway, ae.Code, "not_sent", Words(described))
	case errors.Is(err, recall.ErrNotSent):
		r = NewRefusal(http.StatusServiceUnavailable, "not_sent", described)
	case errors.Is(err, recall.ErrOutcomeUnknown):
		r = refused(http.StatusGatewayTimeout, "outcome_unknown", "outcome_unknown")
	case errors.As(err, &ae), errors.As(err, &re):
		code := "dingtalk_refused"
		if ae != nil && ae.Code != "" {
			code = ae.Code
		}
		r = NewRefusal(http.StatusBadGateway, code, described)
	case e.ID == 0:
		return refused(http.StatusBadRequest, "refused", "send_refused", err)
	default:
		o.cfg.Log.Error("send failed", zap.Error(err))
		return refused(http.StatusInternalServerError, "internal", "send_internal")
	}
	r.Entry = &entry
	return r
}

// blocked is 422: an auto-recall rule refused the message before it was
// sent; what the rule found is put in the reader's words.
func blocked(be *autorecall.BlockedError) *Refusal {
	found := Words(func(locale string) string {
		if locale == "en" {
			return recall.FindingIn(be.Reason, locale)
		}
		return recall.AfterHan(recall.FindingIn(be.Reason, locale)) // "消息包含 AWS 访问密钥 ID"
	})
	r := refused(http.StatusUnprocessableEntity, "blocked", "blocked", be.Rule, found)
	r.Rule = be.Rule
	return r
}

// checkExpiry refuses a self-destruct DingTalk's recall window leaves no
// time for (the sender refuses it too, in English only).
func (o *Operator) checkExpiry(d time.Duration) error {
	if most := o.sender.MaxExpiry(); d > most {
		window := most + time.Minute
		return refused(http.StatusBadRequest, "refused", "expires_too_long", duration(d), duration(window), duration(most)).about("expires_in")
	}
	return nil
}

// duration is d in the reader's words.
func duration(d time.Duration) Words {
	return func(locale string) string { return recall.HumanDuration(d, locale) }
}

// checkChat is ledger.Chat.Validate with the reader's words.
func checkChat(c ledger.Chat) error {
	switch {
	case c.Validate() == nil:
		return nil
	case !c.Family.Valid():
		return badRequest("chat.family", recall.Value(c.Family))
	case c.Family == ledger.OTO && c.UserID == "":
		return badRequest("chat.user")
	case c.Family != ledger.OTO && c.ConversationID == "":
		return badRequest("chat.conversation", c.Family)
	}
	return badRequest("chat.nul")
}

// MaxBroadcastTargets bounds one broadcast.
const MaxBroadcastTargets = 100_000

// Broadcast starts a durable broadcast and answers with its progress; the
// sending happens in the background. It clears req's Targets and UserIDs
// once it has read them, so that a broadcast to 100,000 people is not held
// twice while its job is written.
func (o *Operator) Broadcast(ctx context.Context, req *api.BroadcastRequest) (api.Broadcast, error) {
	who, err := caller(req.Client)
	if err != nil {
		return api.Broadcast{}, err
	}
	m, err := message(req.Content)
	chats := make([]ledger.Chat, 0, len(req.Targets)+len(req.UserIDs))
	for _, t := range req.Targets {
		chats = append(chats, ledgerChat(t))
	}
	for _, u := range req.UserIDs {
		chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: u})
	}
	req.Targets, req.UserIDs = nil, nil
	if err == nil && (len(chats) == 0 || len(chats) > MaxBroadcastTargets) {
		err = badRequest("targets_count", MaxBroadcastTargets)
	}
	for i := 0; err == nil && i < len(chats); i++ {
		if cerr := checkChat(chats[i]); cerr != nil {
			err = badRequest("target", i+1, cerr.(*Refusal).words)
		}
	}
	opts, oerr := sendOptions(who, req.BatchID, req.ExpiresIn)
	if err == nil {
		err = oerr
	}
	if err == nil && opts.ExpiresIn > o.sender.MaxExpiry() {
		err = badRequest("broadcast_expires_long", duration(opts.ExpiresIn), duration(o.sender.MaxExpiry())).about("expires_in")
	}
	if err != nil {
		return api.Broadcast{}, err
	}
	j, err := o.broadcaster.Start(ctx, recall.BroadcastRequest{Chats: chats, Message: m, BatchID: opts.BatchID, ExpiresIn: opts.ExpiresIn, Actor: opts.Actor})
	var be *autorecall.BlockedError
	switch {
	case errors.As(err, &be):
		return api.Broadcast{}, blocked(be)
	case errors.Is(err, ledger.ErrJobExists):
		return api.Broadcast{}, refused(http.StatusConflict, "batch_exists", "batch_exists", opts.BatchID)
	case recall.IsSelectionError(err):
		return api.Broadcast{}, NewRefusal(http.StatusBadRequest, "bad_request", selectionWords(err))
	case err != nil:
		o.cfg.Log.Error("broadcast not started", zap.Error(err))
		return api.Broadcast{}, refused(http.StatusServiceUnavailable, "ledger_unavailable", "broadcast.not_recorded")
	}
	return broadcastOf(j), nil
}

// BroadcastStatus is a broadcast's progress.
func (o *Operator) BroadcastStatus(ctx context.Context, batchID string) (api.Broadcast, error) {
	j, err := o.broadcaster.Status(ctx, batchID)
	return o.broadcastAnswer(batchID, j, err)
}

// CancelBroadcast cancels a broadcast as client: no call starts after the
// answer, whose counts are final but for the calls it names in InFlight.
// What was sent stays recallable by its batch id. The broadcaster audits
// the cancel. A broadcast that had already ended (it finished, or was
// cancelled before) is 409: nothing was cancelled, and the answer says so
// with its final counts rather than reading like a cancel.
func (o *Operator) CancelBroadcast(ctx context.Context, client, batchID string) (api.Broadcast, error) {
	who, err := caller(client)
	if err != nil {
		return api.Broadcast{}, err
	}
	j, cancelled, err := o.broadcaster.Cancel(ctx, batchID, who)
	b, err := o.broadcastAnswer(batchID, j, err)
	if err != nil || cancelled {
		return b, err
	}
	counts := say("broadcast_counts", j.Sent, j.Recipients, j.Failed, j.Cancelled)
	if j.State == ledger.JobCancelled {
		return api.Broadcast{}, refused(http.StatusConflict, "already_cancelled", "broadcast_was_cancelled", j.ID, j.StoppedBy, counts)
	}
	return api.Broadcast{}, refused(http.StatusConflict, "broadcast_finished", "broadcast_finished", j.ID, counts)
}

func (o *Operator) broadcastAnswer(batchID string, j ledger.Job, err error) (api.Broadcast, error) {
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return api.Broadcast{}, notFound("no_broadcast", batchID)
	case err != nil:
		o.cfg.Log.Error("broadcast status", zap.Error(err))
		return api.Broadcast{}, refused(http.StatusServiceUnavailable, "ledger_unavailable", "ledger_unreadable")
	}
	return broadcastOf(j), nil
}
