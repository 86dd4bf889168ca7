package httpapi

import (
	"net/http"

	"github.com/recallbot/recallbot/api"
)

// postRecall previews or recalls, as the chat command does; with "async"
// it answers 202 at once with the recall's record and a Location to
// follow it.
func (a *API) postRecall(w http.ResponseWriter, r *http.Request) {
	var req api.RecallRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Async && !req.DryRun {
		job, err := a.Operator.StartRecall(r.Context(), req)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Location", "/v1/recalls/"+job.ID)
		writeJSON(w, http.StatusAccepted, job)
		return
	}
	rec, err := a.Operator.Recall(r.Context(), req)
	answer(w, rec, err)
}

// getRecall reports an asynchronous recall: its progress while it runs,
// its receipt when it is done.
func (a *API) getRecall(w http.ResponseWriter, r *http.Request) {
	job, err := a.Operator.RecallStatus(r.Context(), r.PathValue("id"))
	answer(w, job, err)
}

func (a *API) postReplace(w http.ResponseWriter, r *http.Request) {
	var req api.ReplaceRequest
	if !decode(w, r, &req) {
		return
	}
	rep, err := a.Operator.Replace(r.Context(), r.PathValue("key"), req)
	answer(w, rep, err)
}

func (a *API) postRetract(w http.ResponseWriter, r *http.Request) {
	var req api.RetractRequest
	if !decode(w, r, &req) {
		return
	}
	rec, err := a.Operator.Retract(r.Context(), r.PathValue("key"), req)
	answer(w, rec, err)
}

func (a *API) getAutoRecall(w http.ResponseWriter, r *http.Request) {
	st, err := a.Operator.AutoRecall()
	answer(w, st, err)
}

// postResume closes the auto-recall breaker; ?client= names the caller in
// the audit trail (as "client" does in request bodies).
func (a *API) postResume(w http.ResponseWriter, r *http.Request) {
	st, err := a.Operator.ResumeAutoRecall(r.Context(), r.URL.Query().Get("client"))
	answer(w, st, err)
}
