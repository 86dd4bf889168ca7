package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// as markdown when a title is given) or an explicit template.
func message(c api.Content) (dingtalk.Message, error) {
	switch {
	case c.MsgKey != "" && c.Text != "":
		return dingtalk.Message{}, errors.New(`give "text" or "msg_key" with "msg_param", not both`)
	case c.MsgKey != "":
		m := dingtalk.Message{MsgKey: c.MsgKey, MsgParam: c.MsgParam}
		if s, ok := unquote(c.MsgParam); ok { // msg_param given as a JSON string, DingTalk style
			m.MsgParam = json.RawMessage(s)
		}
		return m, m.Validate()
	case strings.TrimSpace(c.Text) == "":
		return dingtalk.Message{}, errors.New(`"text" (or "msg_key" and "msg_param") is required`)
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
		return o, fmt.Errorf("batch_id %.40q must be 1 to 128 letters, digits and . _ : - (starting with a letter or digit)", batch)
	}
	if expires != "" {
		d, err := time.ParseDuration(expires)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("expires_in %q is not a positive duration such as 90s or 2h", expires)
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
		err = chat.Validate()
	}
	opts, oerr := sendOptions(who, req.BatchID, req.ExpiresIn)
	if err == nil {
		err = oerr
	}
	if err != nil {
		return api.Sent{}, badRequest(err.Error())
	}
	e, err := o.sender.Send(ctx, chat, m, opts)
	switch {
	case errors.Is(err, recall.ErrRecordDelayed):
		return api.Sent{Entry: entryOf(e), RecordDelayed: true, Held: errors.Is(err, recall.ErrRecordHeld), Message: err.Error()}, nil
	case err != nil:
		return api.Sent{}, o.sendError(e, err)
	}
	return api.Sent{Entry: entryOf(e)}, nil
}

// sendError maps a failed send to a status: 400 for what the caller can
// fix, 422 when a rule blocked it, 502 when DingTalk refused, 503 when it
// was not sent (the ledger or DingTalk could not be reached), 504 when the
// outcome is unknown. The entry goes with DingTalk's answers.
func (o *Operator) sendError(e ledger.Entry, err error) *api.Error {
	var ae *dingtalk.APIError
	var re *dingtalk.RecipientError
	var be *autorecall.BlockedError
	entry := entryOf(e)
	switch {
	case errors.As(err, &be):
		return blocked(be)
	case errors.Is(err, recall.ErrLedgerUnavailable):
		o.cfg.Log.Error("send refused: ledger unavailable", zap.Error(err))
		return refused(http.StatusServiceUnavailable, "ledger_unavailable", "the ledger is unavailable; nothing was sent")
	case errors.Is(err, recall.ErrNotSent) && errors.As(err, &ae):
		return &api.Error{Status: http.StatusBadGateway, Code: ae.Code, Message: dingtalk.Describe(err, o.cfg.Locale) + "; nothing was sent", Entry: &entry}
	case errors.Is(err, recall.ErrNotSent):
		return &api.Error{Status: http.StatusServiceUnavailable, Code: "not_sent", Message: dingtalk.Describe(err, o.cfg.Locale), Entry: &entry}
	case errors.Is(err, recall.ErrOutcomeUnknown):
		return &api.Error{Status: http.StatusGatewayTimeout, Code: "outcome_unknown", Message: err.Error(), Entry: &entry}
	case errors.As(err, &ae), errors.As(err, &re):
		code := "dingtalk_refused"
		if ae != nil && ae.Code != "" {
			code = ae.Code
		}
		return &api.Error{Status: http.StatusBadGateway, Code: code, Message: dingtalk.Describe(err, o.cfg.Locale), Entry: &entry}
	case e.ID == 0:
		return refused(http.StatusBadRequest, "refused", err.Error())
	}
	o.cfg.Log.Error("send failed", zap.Error(err))
	return refused(http.StatusInternalServerError, "internal", "the send could not be completed; see the bot's log")
}

// blocked is 422: an auto-recall rule refused the message before it was
// sent.
func blocked(be *autorecall.BlockedError) *api.Error {
	return &api.Error{Status: http.StatusUnprocessableEntity, Code: "blocked", Rule: be.Rule, Message: be.Error()}
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
		err = fmt.Errorf("targets and user_ids must name 1 to %d recipients", MaxBroadcastTargets)
	}
	opts, oerr := sendOptions(who, req.BatchID, req.ExpiresIn)
	if err == nil {
		err = oerr
	}
	if err != nil {
		return api.Broadcast{}, badRequest(err.Error())
	}
	j, err := o.broadcaster.Start(ctx, recall.BroadcastRequest{Chats: chats, Message: m, BatchID: opts.BatchID, ExpiresIn: opts.ExpiresIn, Actor: opts.Actor})
	var be *autorecall.BlockedError
	switch {
	case errors.As(err, &be):
		return api.Broadcast{}, blocked(be)
	case errors.Is(err, ledger.ErrJobExists):
		return api.Broadcast{}, refused(http.StatusConflict, "batch_exists", "a broadcast with batch_id "+req.BatchID+" exists")
	case recall.IsSelectionError(err):
		return api.Broadcast{}, badRequest(err.Error())
	case err != nil:
		o.cfg.Log.Error("broadcast not started", zap.Error(err))
		return api.Broadcast{}, refused(http.StatusServiceUnavailable, "ledger_unavailable", "the broadcast could not be recorded; nothing was sent")
	}
	return broadcastOf(j), nil
}

// BroadcastStatus is a broadcast's progress.
func (o *Operator) BroadcastStatus(ctx context.Context, batchID string) (api.Broadcast, error) {
	j, err := o.broadcaster.Status(ctx, batchID)
	return o.broadcastAnswer(j, err)
}

// CancelBroadcast cancels a broadcast as client: no call starts after the
// answer, whose counts are final but for the calls it names in InFlight.
// What was sent stays recallable by its batch id. The broadcaster audits
// the cancel.
func (o *Operator) CancelBroadcast(ctx context.Context, client, batchID string) (api.Broadcast, error) {
	who, err := caller(client)
	if err != nil {
		return api.Broadcast{}, err
	}
	j, _, err := o.broadcaster.Cancel(ctx, batchID, who)
	return o.broadcastAnswer(j, err)
}

func (o *Operator) broadcastAnswer(j ledger.Job, err error) (api.Broadcast, error) {
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return api.Broadcast{}, notFound("no broadcast with that batch id")
	case err != nil:
		o.cfg.Log.Error("broadcast status", zap.Error(err))
		return api.Broadcast{}, refused(http.StatusServiceUnavailable, "ledger_unavailable", "the ledger could not be read")
	}
	return broadcastOf(j), nil
}
