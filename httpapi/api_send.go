package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Target is a chat in API requests.
type Target struct {
	Family         ledger.Family `json:"family"`
	ConversationID string        `json:"conversation_id,omitempty"`
	UserID         string        `json:"user_id,omitempty"`
}

func (t Target) chat() ledger.Chat {
	return ledger.Chat{Family: t.Family, ConversationID: t.ConversationID, UserID: t.UserID}
}

// MessageBody is a message in API requests: text (sent as markdown when a
// title is given) or an explicit template.
type MessageBody struct {
	Text     string          `json:"text,omitempty"`
	Title    string          `json:"title,omitempty"`
	MsgKey   string          `json:"msg_key,omitempty"`
	MsgParam json.RawMessage `json:"msg_param,omitempty"`
}

// Message converts the body to a DingTalk message.
func (b MessageBody) Message() (dingtalk.Message, error) {
	switch {
	case b.MsgKey != "" && b.Text != "":
		return dingtalk.Message{}, errors.New(`give "text" or "msg_key" with "msg_param", not both`)
	case b.MsgKey != "":
		m := dingtalk.Message{MsgKey: b.MsgKey, MsgParam: b.MsgParam}
		if s, ok := unquote(b.MsgParam); ok { // msg_param given as a JSON string, DingTalk style
			m.MsgParam = json.RawMessage(s)
		}
		return m, m.Validate()
	case strings.TrimSpace(b.Text) == "":
		return dingtalk.Message{}, errors.New(`"text" (or "msg_key" and "msg_param") is required`)
	case b.Title != "":
		return dingtalk.Markdown(b.Title, b.Text), nil
	}
	return dingtalk.Text(b.Text), nil
}

func unquote(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return "", false
}

type sendRequest struct {
	Target
	MessageBody
	BatchID   string `json:"batch_id,omitempty"`
	ExpiresIn string `json:"expires_in,omitempty"` // a Go duration: "90s", "2h"
	Client    string `json:"client,omitempty"`     // who is sending, for the ledger and audit
}

// actor names an API caller in the ledger and the audit trail.
func actor(client string) string {
	if client == "" {
		return "api"
	}
	return "api:" + client
}

// batchIDShape is what a batch id may be: it is shown in chat ("/recall
// batch ID"), in URLs and in logs, so it is a plain word.
var batchIDShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

func (a *API) sendOptions(client, batch, expires string) (recall.SendOptions, error) {
	o := recall.SendOptions{Origin: ledger.OriginAPI, Actor: actor(client), BatchID: batch}
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

func (a *API) postMessage(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if !decode(w, r, &req) {
		return
	}
	m, err := req.Message()
	if err == nil {
		err = req.chat().Validate()
	}
	o, oerr := a.sendOptions(req.Client, req.BatchID, req.ExpiresIn)
	if err == nil {
		err = oerr
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	e, err := a.Sender.Send(r.Context(), req.chat(), m, o)
	switch {
	case errors.Is(err, recall.ErrRecordDelayed):
		writeJSON(w, http.StatusAccepted, delayed(e, err))
	case err != nil:
		a.sendError(w, e, err)
	default:
		writeJSON(w, http.StatusOK, e)
	}
}

// delayed is the answer to a send that went out while the ledger could not
// take its key: 202, the entry with its key, and record_delayed; held
// says the key is only in memory (the spool's disk failed too).
func delayed(e ledger.Entry, err error) any {
	return struct {
		ledger.Entry
		RecordDelayed bool   `json:"record_delayed"`
		Held          bool   `json:"held,omitempty"`
		Message       string `json:"message"`
	}{e, true, errors.Is(err, recall.ErrRecordHeld), err.Error()}
}

// sendError maps a failed send to a status: 400 for what the caller can
// fix, 422 when a rule blocked it, 502 when DingTalk refused, 503 when it
// was not sent (the ledger or DingTalk could not be reached), 504 when the
// outcome is unknown.
func (a *API) sendError(w http.ResponseWriter, e ledger.Entry, err error) {
	var ae *dingtalk.APIError
	var re *dingtalk.RecipientError
	var be *autorecall.BlockedError
	switch {
	case errors.As(err, &be):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": map[string]string{"code": "blocked", "rule": be.Rule, "message": be.Error()}})
	case errors.Is(err, recall.ErrLedgerUnavailable):
		a.Log.Error("send refused: ledger unavailable", zap.Error(err))
		apiError(w, http.StatusServiceUnavailable, "ledger_unavailable", "the ledger is unavailable; nothing was sent")
	case errors.Is(err, recall.ErrNotSent) && errors.As(err, &ae):
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": map[string]string{"code": ae.Code, "message": dingtalk.Describe(err, a.Locale) + "; nothing was sent"}, "entry": e})
	case errors.Is(err, recall.ErrNotSent):
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]string{"code": "not_sent", "message": dingtalk.Describe(err, a.Locale)}, "entry": e})
	case errors.Is(err, recall.ErrOutcomeUnknown):
		writeJSON(w, http.StatusGatewayTimeout, map[string]any{"error": map[string]string{"code": "outcome_unknown", "message": err.Error()}, "entry": e})
	case errors.As(err, &ae), errors.As(err, &re):
		code := "dingtalk_refused"
		if ae != nil && ae.Code != "" {
			code = ae.Code
		}
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": map[string]string{"code": code, "message": dingtalk.Describe(err, a.Locale)}, "entry": e})
	case e.ID == 0:
		apiError(w, http.StatusBadRequest, "refused", err.Error())
	default:
		a.Log.Error("send failed", zap.Error(err))
		apiError(w, http.StatusInternalServerError, "internal", "the send could not be completed; see the bot's log")
	}
}

// maxBroadcastBody bounds a broadcast's body: 100,000 user ids fit.
const maxBroadcastBody = 8 << 20

// maxBroadcastTargets bounds one broadcast.
const maxBroadcastTargets = 100_000

// broadcastRequest is POST /v1/broadcasts: targets as chats, and/or oto
// users as a plain list (compact for a company-wide notice).
type broadcastRequest struct {
	Targets []Target `json:"targets,omitempty"`
	UserIDs []string `json:"user_ids,omitempty"`
	MessageBody
	BatchID   string `json:"batch_id,omitempty"`
	ExpiresIn string `json:"expires_in,omitempty"`
	Client    string `json:"client,omitempty"`
}

// postBroadcast starts a durable broadcast: 202 with its batch id and a
// Location to follow its progress; the sending happens in the background.
func (a *API) postBroadcast(w http.ResponseWriter, r *http.Request) {
	var req broadcastRequest
	if !decode(w, r, &req) {
		return
	}
	m, err := req.Message()
	chats := make([]ledger.Chat, 0, len(req.Targets)+len(req.UserIDs))
	for _, t := range req.Targets {
		chats = append(chats, t.chat())
	}
	for _, u := range req.UserIDs {
		chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: u})
	}
	req.Targets, req.UserIDs = nil, nil // the chats hold what is needed: let the rest go before the job is written
	if err == nil && (len(chats) == 0 || len(chats) > maxBroadcastTargets) {
		err = fmt.Errorf("targets and user_ids must name 1 to %d recipients", maxBroadcastTargets)
	}
	o, oerr := a.sendOptions(req.Client, req.BatchID, req.ExpiresIn)
	if err == nil {
		err = oerr
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	j, err := a.Broadcaster.Start(r.Context(), recall.BroadcastRequest{Chats: chats, Message: m, BatchID: o.BatchID, ExpiresIn: o.ExpiresIn, Actor: o.Actor})
	var be *autorecall.BlockedError
	switch {
	case errors.As(err, &be):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": map[string]string{"code": "blocked", "rule": be.Rule, "message": be.Error()}})
		return
	case errors.Is(err, ledger.ErrJobExists):
		apiError(w, http.StatusConflict, "batch_exists", "a broadcast with batch_id "+req.BatchID+" exists")
		return
	case recall.IsSelectionError(err):
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		a.Log.Error("broadcast not started", zap.Error(err))
		apiError(w, http.StatusServiceUnavailable, "ledger_unavailable", "the broadcast could not be recorded; nothing was sent")
		return
	}
	w.Header().Set("Location", "/v1/broadcasts/"+url.PathEscape(j.ID))
	writeJSON(w, http.StatusAccepted, broadcastJSON(j))
}

// broadcastJSON is a broadcast's progress. in_flight names the calls that
// may be on the wire (their people are pending until DingTalk answers);
// cancelled counts the people a cancel kept it from sending to.
func broadcastJSON(j ledger.Job) map[string]any {
	refused := j.Refused
	if refused == nil {
		refused = []ledger.Refusal{}
	}
	inFlight := []map[string]any{}
	for _, o := range j.InFlight() {
		inFlight = append(inFlight, map[string]any{"entry_id": o.Entry, "people": o.People})
	}
	out := map[string]any{"batch_id": j.ID, "state": j.State, "recipients": j.Recipients, "sent": j.Sent, "failed": j.Failed,
		"cancelled": j.Cancelled, "pending": j.Pending(), "send_calls": j.Calls, "steps": j.Steps, "excerpt": j.Excerpt, "actor": j.Actor,
		"retrying": len(j.Retry), "refused": refused, "in_flight": inFlight, "created": j.Created, "updated": j.Updated}
	if j.StoppedBy != "" {
		out["cancelled_by"] = j.StoppedBy
	}
	return out
}

func (a *API) getBroadcast(w http.ResponseWriter, r *http.Request) {
	j, err := a.Broadcaster.Status(r.Context(), r.PathValue("id"))
	a.broadcastAnswer(w, j, err)
}

// deleteBroadcast cancels a broadcast: no call starts after the answer,
// whose counts are final but for the calls it names in in_flight. What
// was sent stays recallable by its batch id.
func (a *API) deleteBroadcast(w http.ResponseWriter, r *http.Request) {
	who := actor(r.URL.Query().Get("client"))
	j, _, err := a.Broadcaster.Cancel(r.Context(), r.PathValue("id"), who)
	a.broadcastAnswer(w, j, err)
}

func (a *API) broadcastAnswer(w http.ResponseWriter, j ledger.Job, err error) {
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", "no broadcast with that batch id")
	case err != nil:
		a.Log.Error("broadcast status", zap.Error(err))
		apiError(w, http.StatusServiceUnavailable, "ledger_unavailable", "the ledger could not be read")
	default:
		writeJSON(w, http.StatusOK, broadcastJSON(j))
	}
}
