package handlers

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// A command runs once per DingTalk msgId however often Stream delivers it,
// here or on another instance: its msgId is recorded in the ledger no
// later than its first effect, and a delivery that finds it recorded does
// nothing and says nothing. Most commands record it up front (now). An
// admin's recall that goes straight to DingTalk hands the record to the
// engine instead (handOff), which writes it in the same commit as its
// claim on the messages: one fsync fewer between the command and
// DingTalk's recall call (measured in BenchmarkCommandToRecallCall). If
// that recall stops short of the engine (a preview, a confirmation, a
// selection error, nothing to recall), it records the msgId itself before
// anything else happens, and Handle records it at the latest before the
// reply. Whatever the path, the record comes first.
//
// runOnce holds that record for one delivery.
type runOnce struct {
	b     *Bot
	id    string // the msgId; "" (a test's message) is never deduplicated
	state onceState
}

type onceState int

const (
	unrecorded onceState = iota
	recorded             // by this delivery: go on
	dup                  // by an earlier delivery: stop, silently
	handedOff            // to the engine, which records it with its claim
)

// seen reports whether this process already handled the msgId.
func (o *runOnce) seen() bool {
	if o.id == "" {
		return false
	}
	_, ok := o.b.seen.Get(o.id)
	return ok
}

// deferred reports whether the record may wait for the engine's claim: an
// admin's plain recall (not a preview).
func (o *runOnce) deferred(req *request) bool {
	return req.parseErr == nil && req.cmd.Verb == VerbRecall && !req.cmd.DryRun && o.b.isAdmin(req.msg.SenderStaffID)
}

// now records the msgId unless it is recorded already, and reports whether
// the command may go on. A duplicate stops it silently; a ledger that
// cannot record it stops it with a reply saying so (it could run twice).
func (o *runOnce) now(ctx context.Context, req *request) bool {
	switch o.state {
	case recorded:
		return true
	case dup:
		return false
	}
	first := true
	if o.id != "" {
		var err error
		if first, err = o.b.led.ClaimOnce(ctx, "cmd", o.id, o.b.cfg.DedupeTTL); err != nil {
			req.log.Error("command dedupe failed: the ledger is unavailable; not running it", zap.Error(err))
			if req.chat.Family == "" {
				req.chat = o.b.chatOf(ctx, req.msg)
			}
			if v, denied := o.b.denied(req); denied { // refused all the same, and audited (the audit waits in the spool)
				o.b.auditDenied(ctx, req, req.log)
				o.b.reply(ctx, req, say(o.b.cfg.Locale, "denied"))
				o.b.metrics.Command(string(v), "denied", 0)
				return false
			}
			o.b.reply(ctx, req, say(o.b.cfg.Locale, "ledger.down"))
			o.b.metrics.Command("none", "ledger_down", 0)
			return false
		}
		o.b.remember(o.id)
	}
	if !first {
		o.duplicate()
		return false
	}
	o.state = recorded
	return true
}

// handOff returns the record for the engine to write with its claim (the
// zero Once when it is recorded already).
func (o *runOnce) handOff() ledger.Once {
	if o.state != unrecorded || o.id == "" {
		return ledger.Once{}
	}
	o.state = handedOff
	return ledger.Once{NS: "cmd", ID: o.id, TTL: o.b.cfg.DedupeTTL}
}

// settle takes the engine's answer to a handed-off record: recorded, or
// the delivery is a duplicate (recall.ErrDuplicate). It reports whether
// the command goes on.
func (o *runOnce) settle(err error) bool {
	if o.state != handedOff {
		return true
	}
	if errors.Is(err, recall.ErrDuplicate) {
		o.duplicate()
		return false
	}
	if err == nil {
		o.state = recorded
		o.b.remember(o.id)
	} else {
		o.state = unrecorded // the engine wrote nothing
	}
	return true
}

func (o *runOnce) duplicate() {
	o.state = dup
	o.b.log.Info("duplicate delivery ignored", zap.String("msg_id", o.id))
	o.b.metrics.Command("duplicate", "ignored", 0)
}
