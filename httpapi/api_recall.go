package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// RecallBody is a recall request: the same selections as the chat command.
type RecallBody struct {
	Family         ledger.Family `json:"family,omitempty"` // with conversation_id; default: whichever the ledger knows
	ConversationID string        `json:"conversation_id,omitempty"`
	UserID         string        `json:"user_id,omitempty"` // an oto chat
	Last           int           `json:"last,omitempty"`
	Since          string        `json:"since,omitempty"` // a duration back from now ("30m") or an RFC 3339 time
	Keys           []string      `json:"keys,omitempty"`
	BatchID        string        `json:"batch_id,omitempty"`
	Matching       string        `json:"matching,omitempty"` // only messages whose text contains it (the first 80 characters, ignoring case)
	DryRun         bool          `json:"dry_run,omitempty"`
	Client         string        `json:"client,omitempty"`
	// Async answers 202 at once with a recall_id and a Location; the
	// recall runs on, and GET /v1/recalls/{id} reports its progress and,
	// at the end, its receipt. For large batches.
	Async bool `json:"async,omitempty"`
	// ReadStatus asks DingTalk who has read each message, before the
	// recall: one query call per message (a dry run states the cost).
	ReadStatus bool `json:"read_status,omitempty"`
}

func (a *API) postRecall(w http.ResponseWriter, r *http.Request) {
	var req RecallBody
	if !decode(w, r, &req) {
		return
	}
	sel, err := a.selection(r.Context(), req)
	var down *unavailable
	switch {
	case errors.As(err, &down):
		a.ledgerDown(w, "the recall was not started", err)
		return
	case err != nil:
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if req.Async && !req.DryRun {
		a.startRecall(w, r, recall.Request{Selection: sel, Actor: actor(req.Client)}, req.ReadStatus)
		return
	}
	rreq := recall.Request{Selection: sel, Actor: actor(req.Client), DryRun: req.DryRun}
	plan, err := a.Engine.Plan(r.Context(), sel)
	if err == nil && req.ReadStatus {
		if rerr := a.Engine.AddReads(r.Context(), plan); rerr != nil {
			a.Log.Warn("read status not fetched", zap.Error(rerr))
		}
	}
	var rec *recall.Receipt
	if err == nil {
		rec, err = a.Engine.Execute(r.Context(), rreq, plan)
	}
	switch {
	case recall.IsSelectionError(err):
		apiError(w, http.StatusBadRequest, "bad_selection", err.Error())
		return
	case err != nil:
		// Per-message DingTalk failures are outcomes on the receipt; an
		// error here is the ledger's.
		a.ledgerDown(w, "the recall could not be completed", err)
		return
	}
	out := receiptJSON(rec, a.Locale)
	if rec.DryRun && !req.ReadStatus {
		calls, took := recall.ReadCost(rec.Count(recall.WouldRecall), a.QPS)
		out["read_status_cost"] = map[string]any{"calls": calls, "seconds": took.Seconds()}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) selection(ctx context.Context, req RecallBody) (recall.Selection, error) {
	sel := recall.Selection{Keys: req.Keys, BatchID: req.BatchID, Last: req.Last, Matching: req.Matching}
	if req.Since != "" {
		if d, err := time.ParseDuration(req.Since); err == nil && d > 0 {
			sel.Since = a.now().Add(-d)
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
		es, err := a.Ledger.List(ctx, ledger.Query{Chat: c, Limit: 1})
		if err != nil {
			return ledger.Chat{}, &unavailable{err}
		}
		if len(es) > 0 {
			return c, nil
		}
	}
	return ledger.Chat{}, fmt.Errorf("the ledger has no messages in conversation %s (for a user's 1:1 chat, use user_id)", id)
}

// unavailable is a ledger that failed to answer, as opposed to one that
// answered no.
type unavailable struct{ err error }

func (u *unavailable) Error() string { return u.err.Error() }
func (u *unavailable) Unwrap() error { return u.err }

// ledgerDown answers 503 ledger_unavailable for a request the ledger
// could not serve (Redis down, a disk error), and logs why.
func (a *API) ledgerDown(w http.ResponseWriter, what string, err error) {
	a.Log.Error(what+": the ledger failed", zap.Error(err))
	apiError(w, http.StatusServiceUnavailable, "ledger_unavailable", what+": the ledger is unavailable; try again in a minute")
}

// queryInt reads an optional integer query parameter; a value that is not
// one is an error, not a default.
func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be a whole number, not %q", name, v)
	}
	return n, nil
}

// receiptJSON is a receipt with its summary and per-outcome counts.
func receiptJSON(r *recall.Receipt, locale string) map[string]any {
	counts := map[string]int{}
	for _, it := range r.Items {
		counts[string(it.Outcome)]++
	}
	items := make([]map[string]any, len(r.Items)) // [] when empty, never null
	for i, it := range r.Items {
		m := map[string]any{"outcome": it.Outcome, "process_query_key": it.Key}
		if it.Entry.ID != 0 {
			m["entry_id"], m["excerpt"], m["sent_at"], m["chat"] = it.Entry.ID, it.Entry.Excerpt, it.Entry.SentAt, it.Entry.Chat
		}
		if it.Reason != "" {
			m["reason"], m["explanation"] = it.Reason, dingtalk.Explain(it.Reason, locale)
		}
		if it.Reads != nil {
			m["reads"] = it.Reads
		}
		items[i] = m
	}
	out := map[string]any{"scope": r.Scope, "dry_run": r.DryRun, "requested": r.Requested(), "counts": counts,
		"calls": r.Calls, "summary": r.Summary(locale), "audit_id": r.AuditID, "items": items}
	if r.Broadcast != nil {
		out["broadcast"] = r.Broadcast
	}
	return out
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	limit, err := queryInt(r, "limit")
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	before, err := queryInt(r, "before")
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
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
		var down *unavailable
		if errors.As(err, &down) {
			a.ledgerDown(w, "the conversation could not be listed", err)
			return
		}
		if err != nil {
			apiError(w, http.StatusNotFound, "unknown_conversation", err.Error())
			return
		}
		chat = c
	default:
		apiError(w, http.StatusBadRequest, "bad_request", "family is private, oto or group")
		return
	}
	es, err := a.Ledger.List(r.Context(), ledger.Query{Chat: chat, Limit: limit, Before: uint64(before)})
	if err != nil {
		a.ledgerDown(w, "the conversation could not be listed", err)
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
		a.ledgerDown(w, "the message could not be looked up", err)
		return
	}
	if v := r.URL.Query().Get("read_status"); v == "1" || v == "true" {
		rd, err := a.Engine.ReadStatus(r.Context(), e)
		if err != nil {
			apiError(w, http.StatusServiceUnavailable, "read_status_unavailable", err.Error())
			return
		}
		writeJSON(w, 200, struct {
			ledger.Entry
			ReadStatus recall.Reads `json:"read_status"`
		}{e, rd})
		return
	}
	writeJSON(w, 200, e)
}

func (a *API) getAudit(w http.ResponseWriter, r *http.Request) {
	n, err := queryInt(r, "limit")
	if err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	trail := r.URL.Query().Get("trail")
	if trail != "" && trail != ledger.TrailAccess {
		apiError(w, http.StatusBadRequest, "bad_request", `trail is empty (recalls) or "access" (refused requests)`)
		return
	}
	if n == 0 {
		n = 20
	}
	recs, err := a.Ledger.Audit(r.Context(), ledger.AuditQuery{Limit: min(max(n, 1), 500), Trail: trail})
	if err != nil {
		a.ledgerDown(w, "the audit trail could not be read", err)
		return
	}
	if recs == nil {
		recs = []ledger.AuditRecord{}
	}
	writeJSON(w, 200, map[string]any{"records": recs})
}

// postResolve settles a pending entry: {"state": "sent", "process_query_key":
// "…"}, {"state": "send_failed"} or {"state": "unknown"}, with an optional
// "note" and "client"; audited.
func (a *API) postResolve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		apiError(w, http.StatusBadRequest, "bad_request", "the entry id must be a positive number")
		return
	}
	var req struct {
		State  ledger.State `json:"state"`
		Key    string       `json:"process_query_key,omitempty"`
		Note   string       `json:"note,omitempty"`
		Client string       `json:"client,omitempty"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Key != "" && !dingtalk.WellFormedKey(req.Key) {
		apiError(w, http.StatusBadRequest, "bad_request", "process_query_key is not a key DingTalk could have returned (1 to 256 printable characters, no spaces)")
		return
	}
	e, err := a.Sender.Resolve(r.Context(), id, recall.Resolution{To: req.State, Key: req.Key, Actor: actor(req.Client), Note: req.Note})
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no entry %d", id))
	case recall.IsSelectionError(err):
		apiError(w, http.StatusConflict, "cannot_resolve", err.Error())
	case err != nil && e.ID == 0:
		a.ledgerDown(w, "the entry was not resolved", err)
	default:
		writeJSON(w, http.StatusOK, e)
	}
}

// getInState lists entries that need attention: pending (send outcome
// unknown), recalling, recall_failed.
func (a *API) getInState(w http.ResponseWriter, r *http.Request) {
	st := ledger.State(r.PathValue("state"))
	if !st.Valid() {
		apiError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("%q is not a state: one of %v", st, ledger.States))
		return
	}
	es, err := a.Ledger.InState(r.Context(), st, 500)
	if err != nil {
		a.ledgerDown(w, "the entries could not be listed", err)
		return
	}
	if es == nil {
		es = []ledger.Entry{}
	}
	writeJSON(w, 200, map[string]any{"entries": es})
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
		a.ledgerDown(w, "the retraction could not be completed", err)
	default:
		writeJSON(w, http.StatusOK, receiptJSON(rec, a.Locale))
	}
}

func (a *API) getAutoRecall(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"paused": a.AutoRecall.Paused()})
}

// postResume closes the auto-recall breaker; ?client= names the caller in
// the audit trail (as "client" does in request bodies).
func (a *API) postResume(w http.ResponseWriter, r *http.Request) {
	a.AutoRecall.Resume()
	_, _ = a.Ledger.AppendAudit(r.Context(), ledger.AuditRecord{Actor: actor(r.URL.Query().Get("client")), Action: "autorecall.resume", Allowed: true, Scope: "circuit breaker"})
	writeJSON(w, http.StatusOK, map[string]bool{"paused": false})
}
