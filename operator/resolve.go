package operator

import (
	"context"
	"errors"
	"fmt"
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
		return api.Entry{}, badRequest("process_query_key is not a key DingTalk could have returned (1 to 256 printable characters, no spaces)")
	}
	e, err := o.sender.Resolve(ctx, id, recall.Resolution{To: ledger.State(req.State), Key: req.ProcessQueryKey, Actor: who, Note: req.Note})
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return api.Entry{}, notFound(fmt.Sprintf("no entry %d", id))
	case recall.IsSelectionError(err):
		return api.Entry{}, refused(http.StatusConflict, "cannot_resolve", err.Error())
	case err != nil && e.ID == 0:
		return api.Entry{}, o.ledgerDown("the entry was not resolved", err)
	}
	return entryOf(e), nil
}
