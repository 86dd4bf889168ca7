package operator

import (
	"context"
	"errors"
	"net/http"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Resolve settles a pending entry: sent (with its process_query_key),
// send_failed or unknown, with an optional note; the Sender audits it.
func (o *Operator) Resolve(ctx context.Context, id uint64, req api.ResolveRequest) (api.Entry, error) {
	who, err := caller(req.Client)
	if err != nil {
		return api.Entry{}, err
	}
	if req.ProcessQueryKey != "" && !dingtalk.WellFormedKey(req.ProcessQueryKey) {
		return api.Entry{}, badRequest("bad_key").about("process_query_key")
	}
	e, err := o.sender.Resolve(ctx, id, recall.Resolution{To: ledger.State(req.State), Key: req.ProcessQueryKey, Actor: who, Note: req.Note})
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return api.Entry{}, notFound("no_entry", id)
	case recall.IsSelectionError(err):
		return api.Entry{}, NewRefusal(http.StatusConflict, "cannot_resolve", selectionWords(err))
	case err != nil && e.ID == 0:
		return api.Entry{}, o.ledgerDown("what.resolve", err)
	}
	return entryOf(e, o.cfg.Locale), nil
}
