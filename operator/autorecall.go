package operator

import (
	"context"
	"errors"
	"net/http"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// The actions of a bot that runs auto-recall (AutoRecallOn): supersede or
// retract one message, and the breaker that pauses automatic recalls.

// errAutoRecallOff answers an auto-recall action of a bot without it.
func errAutoRecallOff() *Refusal {
	return notFound("autorecall_off")
}

// Replace supersedes the message with process_query_key key: the
// correction is sent, then the original recalled. An original that could
// not be recalled leaves OriginalRecalled false and says why; the
// correction stays either way.
func (o *Operator) Replace(ctx context.Context, key string, req api.ReplaceRequest) (api.Replacement, error) {
	who, err := caller(req.Client)
	if err != nil {
		return api.Replacement{}, err
	}
	m, err := message(req.Content)
	if err != nil {
		return api.Replacement{}, err
	}
	if o.cfg.AutoRecall == nil {
		return api.Replacement{}, errAutoRecallOff()
	}
	rep, err := o.cfg.AutoRecall.Replace(ctx, key, m, who)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return api.Replacement{}, notFound("no_message")
	case err != nil && rep == nil:
		return api.Replacement{}, o.sendError(ledger.Entry{}, err)
	case err != nil:
		why := selectionWords(errors.Unwrap(err))
		return api.Replacement{Correction: entryOf(rep.Correction, o.cfg.Locale), Error: say("replace_partial", why).In(o.Locale())}, nil
	}
	rec := o.receiptOf(rep.Recall)
	return api.Replacement{Correction: entryOf(rep.Correction, o.cfg.Locale), OriginalRecalled: rep.OriginalRecalled, Recall: &rec}, nil
}

// Retract recalls the message with process_query_key key and says why in
// its chat.
func (o *Operator) Retract(ctx context.Context, key string, req api.RetractRequest) (api.Receipt, error) {
	who, err := caller(req.Client)
	if err != nil {
		return api.Receipt{}, err
	}
	if o.cfg.AutoRecall == nil {
		return api.Receipt{}, errAutoRecallOff()
	}
	rec, err := o.cfg.AutoRecall.Retract(ctx, key, req.Reason, who)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return api.Receipt{}, notFound("no_message")
	case recall.IsSelectionError(err):
		return api.Receipt{}, NewRefusal(http.StatusBadRequest, "bad_request", selectionWords(err))
	case err != nil:
		return api.Receipt{}, o.ledgerDown("what.retract", err)
	}
	return o.receiptOf(rec), nil
}

// AutoRecall reports whether the breaker is open: automatic recalls
// paused after too many in a minute.
func (o *Operator) AutoRecall() (api.AutoRecall, error) {
	if o.cfg.AutoRecall == nil {
		return api.AutoRecall{}, errAutoRecallOff()
	}
	return api.AutoRecall{Paused: o.cfg.AutoRecall.Paused()}, nil
}

// ResumeAutoRecall closes the breaker, as client, on the record.
func (o *Operator) ResumeAutoRecall(ctx context.Context, client string) (api.AutoRecall, error) {
	who, err := caller(client)
	if err != nil {
		return api.AutoRecall{}, err
	}
	if o.cfg.AutoRecall == nil {
		return api.AutoRecall{}, errAutoRecallOff()
	}
	o.cfg.AutoRecall.Resume()
	_, _ = o.led.AppendAudit(ctx, ledger.AuditRecord{Actor: who, Action: "autorecall.resume", Allowed: true}) // the breaker: AuditWords says it
	return api.AutoRecall{Paused: false}, nil
}
