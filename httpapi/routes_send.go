package httpapi

import (
	"net/http"
	"net/url"

	"github.com/recallbot/recallbot/api"
)

// maxBroadcastBody bounds a broadcast's body: 100,000 user ids fit.
const maxBroadcastBody = 8 << 20

// postMessage sends one message: 200 with its entry, or 202 when it went
// out while the ledger could not take its key (record_delayed).
func (a *API) postMessage(w http.ResponseWriter, r *http.Request) {
	var req api.SendRequest
	if !decode(w, r, &req) {
		return
	}
	s, err := a.Operator.Send(r.Context(), req)
	switch {
	case err != nil:
		writeError(w, err)
	case s.RecordDelayed:
		writeJSON(w, http.StatusAccepted, s)
	default:
		writeJSON(w, http.StatusOK, s)
	}
}

// postBroadcast starts a durable broadcast: 202 with its batch id and a
// Location to follow its progress; the sending happens in the background.
func (a *API) postBroadcast(w http.ResponseWriter, r *http.Request) {
	var req api.BroadcastRequest
	if !decode(w, r, &req) {
		return
	}
	b, err := a.Operator.Broadcast(r.Context(), &req)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Location", "/v1/broadcasts/"+url.PathEscape(b.BatchID))
	writeJSON(w, http.StatusAccepted, b)
}

func (a *API) getBroadcast(w http.ResponseWriter, r *http.Request) {
	b, err := a.Operator.BroadcastStatus(r.Context(), r.PathValue("id"))
	answer(w, b, err)
}

// deleteBroadcast cancels a broadcast, as ?client=.
func (a *API) deleteBroadcast(w http.ResponseWriter, r *http.Request) {
	b, err := a.Operator.CancelBroadcast(r.Context(), r.URL.Query().Get("client"), r.PathValue("id"))
	answer(w, b, err)
}

// answer writes v with 200, or err.
func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
