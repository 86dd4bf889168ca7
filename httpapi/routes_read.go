package httpapi

import (
	"net/http"
	"strconv"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/operator"
)

// queryInt reads an optional integer query parameter; a value that is not
// one is an error, not a default.
func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest("whole_number", name, operator.Value(v))
	}
	return n, nil
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit")
	if err != nil {
		writeError(w, err)
		return
	}
	before, err := queryInt(r, "before")
	if err != nil {
		writeError(w, err)
		return
	}
	q := api.ConversationQuery{Family: api.Family(r.URL.Query().Get("family")), Limit: limit, Before: uint64(before)}
	c, err := a.Operator.Conversation(r.Context(), r.PathValue("id"), q)
	answer(w, c, err)
}

func (a *API) getMessage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("read_status")
	m, err := a.Operator.Message(r.Context(), r.PathValue("key"), v == "1" || v == "true")
	answer(w, m, err)
}

func (a *API) getAudit(w http.ResponseWriter, r *http.Request) {
	n, err := queryInt(r, "limit")
	if err != nil {
		writeError(w, err)
		return
	}
	recs, err := a.Operator.Audit(r.Context(), api.AuditQuery{Limit: n, Trail: r.URL.Query().Get("trail")})
	answer(w, recs, err)
}

// getInState lists entries that need attention: pending (send outcome
// unknown), recalling, recall_failed.
func (a *API) getInState(w http.ResponseWriter, r *http.Request) {
	es, err := a.Operator.Entries(r.Context(), api.State(r.PathValue("state")))
	answer(w, es, err)
}

// postResolve settles a pending entry: {"state": "sent", "process_query_key":
// "…"}, {"state": "send_failed"} or {"state": "unknown"}, with an optional
// "note" and "client"; audited.
func (a *API) postResolve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeError(w, badRequest("entry_id"))
		return
	}
	var req api.ResolveRequest
	if !decode(w, r, &req) {
		return
	}
	e, err := a.Operator.Resolve(r.Context(), id, req)
	answer(w, e, err)
}
