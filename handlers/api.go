package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// API is the local HTTP API: other systems send through the bot so their
// messages are ledgered and recallable, and recall them. Every /v1 route
// needs "Authorization: Bearer <token>"; a wrong or missing token is 401
// and audited. Errors are JSON {"error": {"code", "message"}}.
type API struct {
	Token   string
	Ledger  ledger.Store
	Sender  *recall.Sender
	Engine  *recall.Engine
	Log     *zap.Logger
	Metrics *Metrics
	// Ready reports whether the bot can work (Stream connected).
	Ready func() bool
	// Locale for the sentences in error messages; default "zh".
	Locale string
	// AutoRecall, when set, serves replace, retract and the breaker.
	AutoRecall *autorecall.Service
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", a.readyz)
	if a.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	v1 := map[string]http.HandlerFunc{
		"POST /v1/messages":                   a.postMessage,
		"POST /v1/broadcasts":                 a.postBroadcast,
		"POST /v1/recalls":                    a.postRecall,
		"GET /v1/conversations/{id}/messages": a.getConversation,
		"GET /v1/messages/{key...}":           a.getMessage,
		"GET /v1/audit":                       a.getAudit,
		"GET /v1/entries/{state}":             a.getInState,
	}
	if a.AutoRecall != nil {
		v1["POST /v1/messages/{key}/replace"] = a.postReplace
		v1["POST /v1/messages/{key}/retract"] = a.postRetract
		v1["GET /v1/autorecall"] = a.getAutoRecall
		v1["POST /v1/autorecall/resume"] = a.postResume
	}
	for pattern, h := range v1 {
		mux.Handle(pattern, a.auth(h))
	}
	mux.HandleFunc("/", notFound)
	return mux
}

func notFound(w http.ResponseWriter, r *http.Request) {
	apiError(w, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	_, err := a.Ledger.Counts(ctx)
	stream := a.Ready == nil || a.Ready()
	if err != nil || !stream {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "stream_connected": stream, "ledger_ok": err == nil})
		return
	}
	writeJSON(w, 200, map[string]any{"ready": true, "stream_connected": true, "ledger_ok": true})
}

// auth checks the bearer token in constant time and audits refusals.
func (a *API) auth(h http.HandlerFunc) http.Handler {
	want := []byte("Bearer " + a.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if a.Token == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			a.Metrics.unauthorized()
			_, err := a.Ledger.AppendAudit(r.Context(), ledger.AuditRecord{Actor: "http:" + r.RemoteAddr, Action: "http.unauthorized",
				Scope: r.Method + " " + r.URL.Path, Allowed: false, Note: tokenProblem(got)})
			if err != nil {
				a.Log.Error("unauthorized request not audited", zap.Error(err))
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="recallbot"`)
			apiError(w, http.StatusUnauthorized, "unauthorized", "a valid Authorization: Bearer token is required")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r)
	})
}

func tokenProblem(got []byte) string {
	if len(got) == 0 {
		return "no Authorization header"
	}
	return "wrong token"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// decode reads a JSON object strictly: unknown fields are errors.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "the body must be a JSON object: " + err.Error()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			msg = "the body is larger than 1 MiB"
		}
		apiError(w, http.StatusBadRequest, "bad_request", msg)
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		apiError(w, http.StatusBadRequest, "bad_request", "the body must hold one JSON object")
		return false
	}
	return true
}

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

func (a *API) sendOptions(client, batch, expires string) (recall.SendOptions, error) {
	o := recall.SendOptions{Origin: ledger.OriginAPI, Actor: actor(client), BatchID: batch}
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
	if err != nil {
		a.sendError(w, e, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// sendError maps a failed send to a status: 400 for what the caller can
// fix, 502 when DingTalk refused, 504 when the outcome is unknown.
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

func (a *API) postBroadcast(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Targets []Target `json:"targets"`
		MessageBody
		BatchID   string `json:"batch_id,omitempty"`
		ExpiresIn string `json:"expires_in,omitempty"`
		Client    string `json:"client,omitempty"`
	}
	if !decode(w, r, &req) {
		return
	}
	m, err := req.Message()
	if err == nil && (len(req.Targets) == 0 || len(req.Targets) > 10_000) {
		err = errors.New("targets must list 1 to 10,000 chats")
	}
	var chats []ledger.Chat
	for i, t := range req.Targets {
		if err == nil {
			if verr := t.chat().Validate(); verr != nil {
				err = fmt.Errorf("targets[%d]: %w", i, verr)
			}
		}
		chats = append(chats, t.chat())
	}
	o, oerr := a.sendOptions(req.Client, req.BatchID, req.ExpiresIn)
	if err == nil {
		err = oerr
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	batch, results := a.Sender.Broadcast(r.Context(), chats, m, o)
	type result struct {
		Target Target        `json:"target"`
		Entry  *ledger.Entry `json:"entry,omitempty"`
		Error  string        `json:"error,omitempty"`
	}
	out := make([]result, len(results))
	sent := 0
	for i, res := range results {
		out[i].Target = req.Targets[i]
		if res.Entry.ID != 0 {
			e := res.Entry
			out[i].Entry = &e
		}
		if res.Err != nil {
			out[i].Error = dingtalk.Describe(res.Err, a.Locale)
			if errors.Is(res.Err, recall.ErrOutcomeUnknown) {
				out[i].Error = res.Err.Error()
			}
		} else {
			sent++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"batch_id": batch, "sent": sent, "failed": len(results) - sent, "results": out})
}

// RecallBody is a recall request: the same selections as the chat command.
type RecallBody struct {
	Family         ledger.Family `json:"family,omitempty"` // with conversation_id; default: whichever the ledger knows
	ConversationID string        `json:"conversation_id,omitempty"`
	UserID         string        `json:"user_id,omitempty"` // an oto chat
	Last           int           `json:"last,omitempty"`
	Since          string        `json:"since,omitempty"` // a duration back from now ("30m") or an RFC 3339 time
	Keys           []string      `json:"keys,omitempty"`
	BatchID        string        `json:"batch_id,omitempty"`
	DryRun         bool          `json:"dry_run,omitempty"`
	Client         string        `json:"client,omitempty"`
}

func (a *API) postRecall(w http.ResponseWriter, r *http.Request) {
	var req RecallBody
	if !decode(w, r, &req) {
		return
	}
	sel, err := a.selection(r.Context(), req)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	rec, err := a.Engine.Recall(r.Context(), recall.Request{Selection: sel, Actor: actor(req.Client), DryRun: req.DryRun})
	switch {
	case recall.IsSelectionError(err):
		apiError(w, http.StatusBadRequest, "bad_selection", err.Error())
		return
	case err != nil:
		a.Log.Error("recall failed", zap.Error(err))
		apiError(w, http.StatusInternalServerError, "internal", "the recall could not be completed; see the bot's log")
		return
	}
	writeJSON(w, http.StatusOK, receiptJSON(rec, a.Locale))
}

func (a *API) selection(ctx context.Context, req RecallBody) (recall.Selection, error) {
	sel := recall.Selection{Keys: req.Keys, BatchID: req.BatchID, Last: req.Last}
	if req.Since != "" {
		if d, err := time.ParseDuration(req.Since); err == nil && d > 0 {
			sel.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, req.Since); err == nil {
			sel.Since = t
		} else {
			return sel, fmt.Errorf("since %q is neither a duration (30m) nor an RFC 3339 time", req.Since)
		}
	}
	switch {
	case req.UserID != "":
		sel.Chat = ledger.Chat{Family: ledger.OTO, UserID: req.UserID}
	case req.ConversationID != "" && req.Family != "":
		sel.Chat = ledger.Chat{Family: req.Family, ConversationID: req.ConversationID}
	case req.ConversationID != "":
		chat, err := a.findChat(ctx, req.ConversationID)
		if err != nil {
			return sel, err
		}
		sel.Chat = chat
	}
	return sel, nil
}

// findChat finds which family a conversation id belongs to.
func (a *API) findChat(ctx context.Context, id string) (ledger.Chat, error) {
	for _, f := range []ledger.Family{ledger.Private, ledger.Group} {
		c := ledger.Chat{Family: f, ConversationID: id}
		if es, err := a.Ledger.List(ctx, ledger.Query{Chat: c, Limit: 1}); err == nil && len(es) > 0 {
			return c, nil
		}
	}
	return ledger.Chat{}, fmt.Errorf("the ledger has no messages in conversation %s (for a user's 1:1 chat, use user_id)", id)
}

// receiptJSON is a receipt with its summary and per-outcome counts.
func receiptJSON(r *recall.Receipt, locale string) map[string]any {
	counts := map[string]int{}
	for _, it := range r.Items {
		counts[string(it.Outcome)]++
	}
	items := make([]map[string]any, len(r.Items))
	for i, it := range r.Items {
		m := map[string]any{"outcome": it.Outcome, "process_query_key": it.Key}
		if it.Entry.ID != 0 {
			m["entry_id"], m["excerpt"], m["sent_at"], m["chat"] = it.Entry.ID, it.Entry.Excerpt, it.Entry.SentAt, it.Entry.Chat
		}
		if it.Reason != "" {
			m["reason"], m["explanation"] = it.Reason, dingtalk.Explain(it.Reason, locale)
		}
		items[i] = m
	}
	return map[string]any{"scope": r.Scope, "dry_run": r.DryRun, "requested": r.Requested(), "counts": counts,
		"calls": r.Calls, "summary": r.Summary(locale), "audit_id": r.AuditID, "items": items}
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	before, _ := strconv.ParseUint(q.Get("before"), 10, 64)
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var chat ledger.Chat
	switch f := ledger.Family(q.Get("family")); f {
	case ledger.OTO:
		chat = ledger.Chat{Family: f, UserID: id}
	case ledger.Private, ledger.Group:
		chat = ledger.Chat{Family: f, ConversationID: id}
	case "":
		c, err := a.findChat(r.Context(), id)
		if err != nil {
			apiError(w, http.StatusNotFound, "unknown_conversation", err.Error())
			return
		}
		chat = c
	default:
		apiError(w, http.StatusBadRequest, "bad_request", "family is private, oto or group")
		return
	}
	es, err := a.Ledger.List(r.Context(), ledger.Query{Chat: chat, Limit: limit, Before: before})
	if err != nil {
		a.Log.Error("listing a conversation", zap.Error(err))
		apiError(w, http.StatusInternalServerError, "internal", "the ledger could not be read")
		return
	}
	if es == nil {
		es = []ledger.Entry{}
	}
	writeJSON(w, 200, map[string]any{"chat": chat, "messages": es})
}

func (a *API) getMessage(w http.ResponseWriter, r *http.Request) {
	e, err := a.Ledger.ByKey(r.Context(), r.PathValue("key"))
	if errors.Is(err, ledger.ErrNotFound) {
		apiError(w, http.StatusNotFound, "not_found", "no message with that process_query_key")
		return
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, "internal", "the ledger could not be read")
		return
	}
	writeJSON(w, 200, e)
}

func (a *API) getAudit(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	recs, err := a.Ledger.Audit(r.Context(), min(max(n, 1), 500))
	if err != nil {
		apiError(w, http.StatusInternalServerError, "internal", "the audit trail could not be read")
		return
	}
	writeJSON(w, 200, map[string]any{"records": recs})
}

// getInState lists entries that need attention: pending (send outcome
// unknown), recalling, recall_failed.
func (a *API) getInState(w http.ResponseWriter, r *http.Request) {
	es, err := a.Ledger.InState(r.Context(), ledger.State(r.PathValue("state")), 500)
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	writeJSON(w, 200, map[string]any{"entries": es})
}

func (m *Metrics) unauthorized() {
	if m != nil {
		m.httpDenied.Inc()
	}
}

func (a *API) postReplace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MessageBody
		Client string `json:"client,omitempty"`
	}
	if !decode(w, r, &req) {
		return
	}
	m, err := req.Message()
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	rep, err := a.AutoRecall.Replace(r.Context(), r.PathValue("key"), m, actor(req.Client))
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", "no message with that process_query_key")
	case err != nil && rep == nil:
		a.sendError(w, ledger.Entry{}, err)
	case err != nil:
		writeJSON(w, http.StatusOK, map[string]any{"correction": rep.Correction, "original_recalled": false, "error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"correction": rep.Correction, "original_recalled": rep.OriginalRecalled, "recall": receiptJSON(rep.Recall, a.Locale)})
	}
}

func (a *API) postRetract(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
		Client string `json:"client,omitempty"`
	}
	if !decode(w, r, &req) {
		return
	}
	rec, err := a.AutoRecall.Retract(r.Context(), r.PathValue("key"), req.Reason, actor(req.Client))
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", "no message with that process_query_key")
	case recall.IsSelectionError(err):
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		a.Log.Error("retract failed", zap.Error(err))
		apiError(w, http.StatusInternalServerError, "internal", "the retraction could not be completed; see the bot's log")
	default:
		writeJSON(w, http.StatusOK, receiptJSON(rec, a.Locale))
	}
}

func (a *API) getAutoRecall(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"paused": a.AutoRecall.Paused()})
}

func (a *API) postResume(w http.ResponseWriter, r *http.Request) {
	a.AutoRecall.Resume()
	_, _ = a.Ledger.AppendAudit(r.Context(), ledger.AuditRecord{Actor: "api", Action: "autorecall.resume", Allowed: true, Scope: "circuit breaker"})
	writeJSON(w, http.StatusOK, map[string]bool{"paused": false})
}
