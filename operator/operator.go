// Package operator is what an operator can do to a running bot: send and
// broadcast, preview and recall (at once or in the background), follow and
// cancel, settle entries in doubt, read the audit trail and the ledger's
// lists, and resume automatic recalls. Each action is defined once here,
// with who may ask and what it writes to the audit trail; the HTTP API
// (package httpapi) and the operator's console (package console) both
// call these definitions, so the two cannot drift apart.
//
// Actions take the API's request types and answer with its response types
// (package api). A refusal is a *Refusal: the HTTP status the API answers
// it with, a code, and a sentence put in words when it is shown (AsError);
// the console shows the same status and sentence.
//
// Who may act is settled before an action is called: the API's bearer
// token, or a console session opened with it. What the operator checks is
// the name the caller goes by (CheckClient), which every entry and audit
// record the action causes carries as its actor, "api:<name>".
package operator

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Ledger is what the actions read and write of the ledger directly; sends,
// recalls and broadcasts go through the Sender, the Engine and the
// Broadcaster.
type Ledger interface {
	ledger.EntryLister
	ledger.EntryReader
	ledger.AuditStore
	ledger.TempStore
	ledger.ChatStore
}

// Config holds the operator's knobs; the zero value is the defaults.
type Config struct {
	// AutoRecall, when set, serves replace, retract and the breaker.
	AutoRecall *autorecall.Service
	// Ready reports whether the Stream connection is up; nil means it is.
	Ready func() bool
	// Locale of the sentences in receipts and errors: "zh" (default) or "en".
	Locale string
	// QPS is DingTalk's pace, to state what asking for read status costs.
	QPS float64
	// Version is the running build, as `recallbot version` prints it, for
	// /readyz and the console's status bar.
	Version string
	// MaxLast caps N in a recall of a chat's last N messages, as it caps
	// "/recall last N" in chat (recall.max_last); 0 means 100.
	MaxLast int
	// Window is how long DingTalk lets a message be recalled
	// (recall.window), for a receipt's time left; 0 says none.
	Window time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log is where failures are logged; default none.
	Log *zap.Logger
}

// Operator carries out the operator's actions.
type Operator struct {
	led         Ledger
	sender      *recall.Sender
	engine      *recall.Engine
	broadcaster *recall.Broadcaster
	background  func(func(context.Context))
	cfg         Config
}

// New returns the operator of a bot built from led, sender, engine and
// broadcaster. background runs work that outlives its request (an
// asynchronous recall, one resumed) under an owner that waits for it: the
// bot lets such work finish within its shutdown grace.
func New(led Ledger, sender *recall.Sender, engine *recall.Engine, broadcaster *recall.Broadcaster,
	background func(func(context.Context)), cfg Config) *Operator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.MaxLast <= 0 {
		cfg.MaxLast = defaultMaxLast
	}
	return &Operator{led: led, sender: sender, engine: engine, broadcaster: broadcaster, background: background, cfg: cfg}
}

// defaultMaxLast is recall.max_last's default, the chat command's cap.
const defaultMaxLast = 100

func (o *Operator) now() time.Time { return o.cfg.Now() }

// Locale is the language of the words in the operator's answers (a
// receipt's summary, an audit record's scope): "en", or "zh" for anything
// else. The HTTP API states it in each answer's Content-Language, so a
// client (the CLI) can put its own words in the same language.
func (o *Operator) Locale() string {
	if o.cfg.Locale == "en" {
		return "en"
	}
	return "zh"
}

// AutoRecallOn reports whether the bot runs auto-recall: replace, retract
// and the breaker exist only then.
func (o *Operator) AutoRecallOn() bool { return o.cfg.AutoRecall != nil }

// Ready reports whether the bot can work: the Stream connection up, the
// ledger answering and taking writes.
func (o *Operator) Ready(ctx context.Context) api.Readiness {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := o.led.Counts(ctx)
	r := api.Readiness{StreamConnected: o.cfg.Ready == nil || o.cfg.Ready(), LedgerOK: err == nil, LedgerWritesOK: o.sender.Writing(),
		Version: o.cfg.Version}
	r.Ready = r.StreamConnected && r.LedgerOK && r.LedgerWritesOK
	return r
}

// ledgerDown is 503 ledger_unavailable for an action the ledger could not
// serve (Redis down, a disk error); what is the key of what was not done.
// It logs why.
func (o *Operator) ledgerDown(what string, err error) *Refusal {
	o.cfg.Log.Error(say(what).In("en")+": the ledger failed", zap.Error(err))
	return refused(http.StatusServiceUnavailable, "ledger_unavailable", "ledger_down", say(what))
}
