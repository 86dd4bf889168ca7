package recall

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// RecallAPI is the part of the DingTalk client the Engine uses.
type RecallAPI interface {
	RecallPrivate(ctx context.Context, conversationID string, keys []string) (dingtalk.RecallResult, error)
	RecallOTO(ctx context.Context, keys []string) (dingtalk.RecallResult, error)
	RecallGroup(ctx context.Context, conversationID string, keys []string) (dingtalk.RecallResult, error)
}

// StatusAPI asks DingTalk what became of a message. When the RecallAPI
// given to New has these methods too (*dingtalk.Client does), the engine
// uses them to settle outcomes DingTalk's recall answer leaves unclear.
type StatusAPI interface {
	QueryOTO(ctx context.Context, key string) (dingtalk.MessageStatus, error)
	QueryPrivate(ctx context.Context, conversationID, key string) (dingtalk.MessageStatus, error)
	QueryGroup(ctx context.Context, conversationID, key string) (dingtalk.MessageStatus, error)
}

// Config tunes an Engine; the zero value is the default.
type Config struct {
	// Window is DingTalk's recall window: older messages are reported too
	// old and marked expired without an API call. Default 24 h.
	Window time.Duration
	// Concurrency fixes the recall calls in flight. Default: as many as
	// the client says keep its pace busy at the round trip it measures
	// (dingtalk.Client.InFlight, 4 to 64), followed while a recall runs.
	// Pacing is the client's.
	Concurrency int
	// MaxAttempts bounds the tries of one call on transient errors;
	// default 6.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the capped, jittered backoff
	// between tries; defaults 250 ms and 5 s. A QPS refusal waits at
	// least one second, DingTalk's limit window.
	BackoffBase, BackoffMax time.Duration
	// MaxSelection caps one recall; default 100,000.
	MaxSelection int
	// Owner names this engine on its claims; unique per process. Default:
	// hostname, process id and a random suffix.
	Owner string
	// LeaseTTL is how long this engine's claims stay its own without a
	// renewal; it renews every third of it while it recalls. Default 30 s.
	// Only claims whose owner's lease has lapsed are taken over (Resume).
	LeaseTTL time.Duration
	// StaleClaim is how old a claim without an owner (written by an older
	// recallbot) must be before Resume takes it over; default 2 minutes.
	StaleClaim time.Duration
	// JobClaimGrace is how long Resume leaves the lapsed claims of a job
	// (ForJob) to the job's own resumer (ResumeJob), which finishes it as
	// itself; default 5 minutes.
	JobClaimGrace time.Duration
	// VerifyTimeout bounds asking DingTalk about one message whose recall
	// outcome is unclear; default 10 s.
	VerifyTimeout time.Duration
	// VerifyWait is how long to wait before asking again about a message
	// DingTalk has no query data for yet (sent moments ago); it doubles
	// each time, within VerifyTimeout. Default 250 ms.
	VerifyWait time.Duration
	// LandingWait bounds how long a recall of a running broadcast waits,
	// once it has stopped it, for the calls it had on the wire to be
	// answered, so as to take back what they sent too; default 20 s (the
	// client's timeout and the settling of their answer).
	LandingWait time.Duration
	// Locale is the language of the scopes written on receipts and in the
	// audit trail: "zh" (default) or "en".
	Locale string
	// OnOutcome, when set, is told how many messages ended in each
	// outcome of every recall (metrics).
	OnOutcome func(o Outcome, n int)
	// ResumeEvery is how often Run looks for recalls a stopped engine left
	// unfinished; default a minute.
	ResumeEvery time.Duration
	Now         func() time.Time
}

// Engine recalls messages: it resolves a selection from the ledger, claims
// what can be recalled, calls DingTalk in chunks of at most 20 keys per
// conversation, retries what is transient, records every outcome in the
// ledger and the audit trail, and returns a receipt.
type Engine struct {
	led    EngineLedger
	api    RecallAPI
	status StatusAPI // nil when api cannot query
	log    *zap.Logger
	cfg    Config
	lease  lease
}

// New returns an Engine.
func New(led EngineLedger, api RecallAPI, log *zap.Logger, cfg Config) *Engine {
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 250 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Second
	}
	if cfg.MaxSelection <= 0 {
		cfg.MaxSelection = 100_000
	}
	if cfg.StaleClaim <= 0 {
		cfg.StaleClaim = 2 * time.Minute
	}
	if cfg.JobClaimGrace <= 0 {
		cfg.JobClaimGrace = 5 * time.Minute
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.VerifyTimeout <= 0 {
		cfg.VerifyTimeout = 10 * time.Second
	}
	if cfg.VerifyWait <= 0 {
		cfg.VerifyWait = 250 * time.Millisecond
	}
	if cfg.LandingWait <= 0 {
		cfg.LandingWait = 20 * time.Second
	}
	if cfg.Owner == "" {
		cfg.Owner = NewOwner()
	}
	if cfg.Locale == "" {
		cfg.Locale = "zh"
	}
	if cfg.ResumeEvery <= 0 {
		cfg.ResumeEvery = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Engine{led: led, api: api, log: log.Named("recall").With(zap.String("owner", cfg.Owner)), cfg: cfg}
	e.status, _ = api.(StatusAPI)
	e.lease.init(led, cfg.Owner, cfg.LeaseTTL, e.log)
	return e
}

// Owner is the name this engine claims entries under.
func (e *Engine) Owner() string { return e.cfg.Owner }

// Request is one recall: what, who asked, and whether to only preview.
type Request struct {
	Selection
	// Actor is who asked: a staffId, "api:<client>", "rule:<name>".
	Actor string
	// Action names the kind of attempt in the audit trail; default
	// "recall" (or "dry_run").
	Action string
	// DryRun returns the receipt the recall would produce, calling
	// nothing and changing nothing.
	DryRun bool
	// Note goes into the audit record (a reason, a rule's finding).
	Note string
	// Why is the audit record's reason as a code (recall.AuditWords puts
	// it in words when the record is read).
	Why string
	// Once, when its ID is set, makes the recall a one-time request (a
	// chat command's msgId): recorded in the same write as the claim, and
	// refused with ErrDuplicate if it was carried out before.
	Once ledger.Once
	// Scope, when set, names the selection on the receipt and the audit
	// record instead of the selection's own words (a confirmation carries
	// out exactly the entries a preview of "last 12 in …" chose).
	Scope string
	// About, when set, is what the audit record says the recall was
	// about, as facts, instead of the selection's own (a confirmation of
	// "last 12 in …" carries out exactly the entries its preview chose).
	About *ledger.AuditAbout
	// Progress, if set, hears how far the recall is: messages with their
	// outcome, of all selected, and calls made so far. It is called from
	// the recall's goroutines, one at a time, after each conversation's
	// chunk of up to 20 keys; first with what needs no call. The total
	// grows when a recall of a batch finds messages its broadcast sent
	// after the plan.
	Progress func(done, total, calls int)
	// Batch, when set, is a broadcast this recall takes back whole, as a
	// Selection{BatchID} does: a confirmation of a batch's preview
	// carries it with the previewed entries' IDs. See recallBatch.
	Batch string
}

// batch is the broadcast a request recalls, if any.
func (r Request) batch() string {
	if r.Batch != "" {
		return r.Batch
	}
	return r.Selection.BatchID
}

// ErrDuplicate is a one-time request (Request.Once) carried out before.
var ErrDuplicate = errors.New("this request was carried out before")

// Plan resolves a selection and classifies every message: the receipt a
// recall would produce, with WouldRecall for what it would call DingTalk
// for, and the number of calls. It changes nothing and audits nothing.
func (e *Engine) Plan(ctx context.Context, s Selection) (*Receipt, error) {
	if err := s.validate(e.cfg.MaxSelection); err != nil {
		return nil, err
	}
	entries, missing, err := e.resolve(ctx, s)
	if err != nil {
		return nil, err
	}
	r := &Receipt{Scope: s.Describe(e.cfg.Locale), DryRun: true, Items: make([]Item, len(entries), len(entries)+len(missing))}
	now := e.cfg.Now()
	for i := range entries {
		r.Items[i] = e.classify(&entries[i], now)
	}
	for _, k := range missing {
		r.Items = append(r.Items, Item{Key: k, Outcome: NotFound})
	}
	r.Calls = countCalls(r.Items)
	if s.Matching == "" {
		r.Asked = s.Last // with matching, the last N are searched, not all taken
	}
	return r, nil
}

// countCalls is the number of recall calls the WouldRecall items need:
// len(chunk(…)) without building the chunks.
func countCalls(items []Item) int {
	type conv struct {
		family ledger.Family
		id     string
	}
	per := map[conv]int{}
	for i := range items {
		if items[i].Outcome != WouldRecall {
			continue
		}
		en := &items[i].Entry
		c := conv{en.Chat.Family, en.Chat.ConversationID}
		if c.family == ledger.OTO {
			c.id = ""
		}
		per[c]++
	}
	calls := 0
	for _, n := range per {
		calls += (n + dingtalk.MaxRecallKeys - 1) / dingtalk.MaxRecallKeys
	}
	return calls
}

// Recall carries out req. A selection that cannot be carried out is a
// *SelectionError; everything else, including DingTalk's refusals, is
// reported per message in the receipt.
func (e *Engine) Recall(ctx context.Context, req Request) (*Receipt, error) {
	r, err := e.Plan(ctx, req.Selection)
	if err != nil {
		return nil, err
	}
	return e.Execute(ctx, req, r)
}

// Execute carries out a plan that Plan made for req's selection, for a
// caller that has looked at the plan first (the bot decides on it whether
// to ask for a confirmation) and should not read the ledger twice. The
// plan becomes the receipt. Entries that changed since the plan are
// classified again when they are claimed.
func (e *Engine) Execute(ctx context.Context, req Request, r *Receipt) (*Receipt, error) {
	if req.Scope != "" {
		r.Scope = req.Scope
	}
	if req.DryRun {
		return r, e.audit(ctx, req, r)
	}
	r.DryRun, r.Calls = false, 0 // the plan's calls were those it would make
	if b := req.batch(); b != "" {
		if err := e.recallBatch(ctx, req, r, b); err != nil {
			return nil, err
		}
	} else if err := e.recallPlanned(ctx, r, req.Once, req.Progress); err != nil {
		return nil, err
	}
	e.countOutcomes(r)
	return r, e.audit(ctx, req, r)
}

// afterLapse reports what became of an entry this engine gave up when its
// lease lapsed: another instance may have taken it over and recalled it
// (the chat shows it gone: say so), be recalling it, or the claim came
// back unrecalled.
func (e *Engine) afterLapse(ctx context.Context, it Item) Item {
	en, err := e.led.Get(context.WithoutCancel(ctx), it.Entry.ID)
	if err != nil {
		return it
	}
	switch {
	case en.State == ledger.Recalled:
		return Item{Entry: en, Key: it.Key, Outcome: Recalled, Reason: "recalled by another instance: this one stalled and its claim was taken over", Reads: it.Reads}
	case en.State == ledger.Recalling && en.ClaimedBy != e.cfg.Owner:
		return Item{Entry: en, Key: it.Key, Outcome: InProgress, Reason: "another instance took the claim over when this one stalled", Reads: it.Reads}
	}
	return it
}

func (e *Engine) countOutcomes(r *Receipt) {
	if e.cfg.OnOutcome == nil {
		return
	}
	for _, o := range outcomeOrder {
		if n := r.Count(o); n > 0 {
			e.cfg.OnOutcome(o, n)
		}
	}
}

// resolve loads the selected entries from the ledger. "Last N" and "since"
// leave out the bot's replies to commands: an admin asking for the last 5
// means the last 5 messages the bot was asked to send, not its receipts
// (which stay recallable by key).
func (e *Engine) resolve(ctx context.Context, s Selection) ([]ledger.Entry, []string, error) {
	notDone := []ledger.State{ledger.Pending, ledger.Sent, ledger.Recalling, ledger.RecallFailed, ledger.Expired}
	var es []ledger.Entry
	var missing []string
	var err error
	switch {
	case len(s.Keys) > 0:
		es, missing, err = e.led.ByKeys(ctx, s.Keys) // ByKeys finds a key given twice once
	case s.Last > 0:
		es, err = e.led.List(ctx, ledger.Query{Chat: s.Chat, Limit: s.Last, States: notDone, SkipOrigin: ledger.OriginCommand, Contains: s.Matching})
	case !s.Since.IsZero() || s.BatchID == "" && len(s.IDs) == 0: // since, or matching alone: within the window
		since := s.Since
		if since.IsZero() {
			since = e.cfg.Now().Add(-e.cfg.Window)
		}
		es, err = e.led.List(ctx, ledger.Query{Chat: s.Chat, Since: since, Limit: e.cfg.MaxSelection, States: notDone, SkipOrigin: ledger.OriginCommand, Contains: s.Matching})
	case s.BatchID != "":
		es, err = e.led.Batch(ctx, s.BatchID)
		if err == nil && len(es) == 0 {
			return nil, nil, &SelectionError{Msg: fmt.Sprintf("no messages were sent under batch %s", s.BatchID), Zh: fmt.Sprintf("批次 %s 下没有发送记录", s.BatchID)}
		}
	default:
		for _, id := range s.IDs {
			en, gerr := e.led.Get(ctx, id)
			if errors.Is(gerr, ledger.ErrNotFound) {
				missing = append(missing, fmt.Sprintf("#%d", id))
				continue
			}
			if gerr != nil {
				return nil, nil, gerr
			}
			es = append(es, en)
		}
	}
	if err != nil || s.Matching == "" || s.Last > 0 || !s.Since.IsZero() || s.BatchID == "" && len(s.Keys) == 0 && len(s.IDs) == 0 {
		return es, missing, err // List filtered already
	}
	kept := es[:0]
	for _, en := range es {
		if strings.Contains(strings.ToLower(en.Excerpt), strings.ToLower(s.Matching)) {
			kept = append(kept, en)
		}
	}
	return kept, missing, nil
}

// classify decides an entry's fate before any call; WouldRecall means it
// is a candidate.
func (e *Engine) classify(en *ledger.Entry, now time.Time) Item {
	it := Item{Entry: *en, Key: en.ProcessQueryKey, Reason: en.Reason}
	switch en.State {
	case ledger.Recalled:
		it.Outcome = AlreadyRecalled
	case ledger.Expired:
		it.Outcome = TooOld
	case ledger.Pending, ledger.Unknown:
		it.Outcome = Unknown
	case ledger.SendFailed:
		it.Outcome = NeverSent
	case ledger.Recalling:
		it.Outcome = InProgress
	default:
		if now.Sub(en.SentAt) > e.cfg.Window {
			it.Outcome, it.Reason = TooOld, "past the recall window"
		} else {
			it.Outcome, it.Reason = WouldRecall, ""
		}
	}
	return it
}

// audit appends the attempt to the audit trail.
func (e *Engine) audit(ctx context.Context, req Request, r *Receipt) error {
	action := req.Action
	if action == "" {
		action = "recall"
		if req.DryRun {
			action = "dry_run"
		}
	}
	outcomes := make(map[string]string, len(r.Items))
	for _, it := range r.Items {
		k := it.Key
		if k == "" {
			k = fmt.Sprintf("#%d", it.Entry.ID)
		}
		v := string(it.Outcome)
		if it.Reason != "" && it.Outcome != Recalled {
			v += ": " + it.Reason
		}
		outcomes[k] = v
	}
	note := req.Note
	if f := r.Broadcast.facts(); f != "" { // put in words when read (stopWords)
		note = strings.TrimPrefix(note+"; "+f, "; ")
	}
	// The record keeps the selection as facts, to be put in words in the
	// reader's language; a scope given only in words stays words.
	about, scope := req.About, ""
	if about == nil && req.Scope == "" {
		about = req.Selection.About()
	}
	if about == nil {
		scope = r.Scope
	}
	rec, err := e.led.AppendAudit(context.WithoutCancel(ctx), ledger.AuditRecord{
		At: e.cfg.Now(), Actor: req.Actor, Action: action, Scope: scope, About: about, Why: req.Why, Allowed: true, Outcomes: outcomes, Note: note,
	})
	if err != nil {
		return fmt.Errorf("recall done but not audited: %w", err)
	}
	r.AuditID = rec.ID
	return nil
}
