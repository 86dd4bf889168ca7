package operator

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Recall previews (DryRun) or carries out a recall now, as the chat
// command does, and answers with its receipt; the engine audits it.
// req.Async is StartRecall's: Recall runs every request to its end.
func (o *Operator) Recall(ctx context.Context, req api.RecallRequest) (api.Receipt, error) {
	sel, who, err := o.recallSelection(ctx, req)
	if err != nil {
		return api.Receipt{}, err
	}
	plan, err := o.engine.Plan(ctx, sel)
	if err == nil && req.ReadStatus {
		if rerr := o.engine.AddReads(ctx, plan); rerr != nil {
			o.cfg.Log.Warn("read status not fetched", zap.Error(rerr))
		}
	}
	var rec *recall.Receipt
	if err == nil {
		rec, err = o.engine.Execute(ctx, recall.Request{Selection: sel, Actor: who, DryRun: req.DryRun}, plan)
	}
	switch {
	case recall.IsSelectionError(err):
		return api.Receipt{}, NewRefusal(http.StatusBadRequest, "bad_selection", selectionWords(err))
	case err != nil:
		// Per-message DingTalk failures are outcomes on the receipt; an
		// error here is the ledger's.
		return api.Receipt{}, o.ledgerDown("what.recall_done", err)
	}
	out := o.receiptOf(rec)
	if rec.DryRun && !req.ReadStatus {
		calls, took := recall.ReadCost(rec.Count(recall.WouldRecall), o.cfg.QPS)
		out.ReadStatusCost = &api.ReadCost{Calls: calls, Seconds: took.Seconds()}
	}
	return out, nil
}

// recallSelection checks who asks and reads what req selects.
func (o *Operator) recallSelection(ctx context.Context, req api.RecallRequest) (recall.Selection, string, error) {
	who, err := caller(req.Client)
	if err != nil {
		return recall.Selection{}, "", err
	}
	sel, err := o.selection(ctx, req)
	var down *unavailable
	switch {
	case errors.As(err, &down):
		return sel, who, o.ledgerDown("what.recall_started", err)
	case err != nil:
		return sel, who, err
	}
	return sel, who, nil
}

func (o *Operator) selection(ctx context.Context, req api.RecallRequest) (recall.Selection, error) {
	sel := recall.Selection{Keys: req.Keys, BatchID: req.BatchID, Last: req.Last, Matching: req.Matching}
	if req.Last > o.cfg.MaxLast {
		return sel, badRequest("last_over_max", req.Last, o.cfg.MaxLast).about("last")
	}
	if req.Since != "" {
		if d, err := time.ParseDuration(req.Since); err == nil && d > 0 {
			sel.Since = o.now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, req.Since); err == nil {
			sel.Since = t
		} else {
			return sel, badRequest("since_shape", recall.Value(req.Since)).about("since")
		}
	}
	switch {
	case req.UserID != "":
		sel.Chat = ledger.Chat{Family: ledger.OTO, UserID: req.UserID}
	case req.ConversationID != "" && req.Family != "":
		sel.Chat = ledger.Chat{Family: ledger.Family(req.Family), ConversationID: req.ConversationID}
	case req.ConversationID != "":
		chat, err := o.findChat(ctx, req.ConversationID)
		if err != nil {
			return sel, err
		}
		sel.Chat = chat
	}
	return sel, nil
}

// findChat finds which family a conversation id belongs to.
func (o *Operator) findChat(ctx context.Context, id string) (ledger.Chat, error) {
	for _, f := range []ledger.Family{ledger.Private, ledger.Group} {
		c := ledger.Chat{Family: f, ConversationID: id}
		es, err := o.led.List(ctx, ledger.Query{Chat: c, Limit: 1})
		if err != nil {
			return ledger.Chat{}, &unavailable{err}
		}
		if len(es) > 0 {
			return c, nil
		}
	}
	return ledger.Chat{}, badRequest("no_conversation", id).about("conversation_id")
}

// unavailable is a ledger that failed to answer, as opposed to one that
// answered no.
type unavailable struct{ err error }

func (u *unavailable) Error() string { return u.err.Error() }
func (u *unavailable) Unwrap() error { return u.err }
