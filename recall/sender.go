// Package recall is what recallbot does with messages: send them so that
// each is on the ledger before anyone hears of it (Sender), and take them
// back, accounting for every one (Engine).
package recall

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// SendAPI is the part of the DingTalk client the Sender uses.
type SendAPI interface {
	SendPrivate(ctx context.Context, conversationID string, m dingtalk.Message) (string, error)
	SendOTO(ctx context.Context, userID string, m dingtalk.Message) (string, error)
	SendGroup(ctx context.Context, conversationID string, m dingtalk.Message) (string, error)
}

// Guard inspects every message before and after it is sent (auto-recall's
// detectors). Before may refuse a send; After may act on the sent entry.
type Guard interface {
	Before(ctx context.Context, chat ledger.Chat, m dingtalk.Message, o SendOptions) error
	After(ctx context.Context, e ledger.Entry, m dingtalk.Message, o SendOptions)
}

// SendOptions describe one send.
type SendOptions struct {
	Origin ledger.Origin
	Actor  string // who caused it: a staffId, an API client, a rule
	// BatchID groups one broadcast; Broadcast sets it.
	BatchID string
	// ExpiresIn makes the message self-destruct: it is recalled this long
	// after sending. It must fit in the recall window.
	ExpiresIn time.Duration
	// NoGuard skips the guard (the bot's own notices about its guard).
	NoGuard bool
	// SpoolIfLedgerDown lets the send go ahead when the ledger cannot take
	// its pending entry, journaling it in the spool instead (the bot's
	// "the ledger is unavailable, try again" reply). Without it, such a
	// send is refused with ErrLedgerUnavailable.
	SpoolIfLedgerDown bool
}

// SenderConfig tunes a Sender; the zero value is the default.
type SenderConfig struct {
	// Window is DingTalk's recall window; an expiry beyond it is refused.
	// Default 24 h.
	Window time.Duration
	// RecordFor bounds how long a key DingTalk returned is retried into an
	// unavailable ledger before it is written to the spool; default 5 s.
	RecordFor time.Duration
	// Redact, when set, is applied to the excerpt the ledger keeps of each
	// message, so that a secret a message leaked is not written down with
	// it (the autorecall rules see the whole content, not the excerpt).
	Redact func(string) string
	// ProbeEvery and ProbeMax pace WatchWrites' probes of a ledger that
	// refused a send's first write: the first ProbeEvery after the
	// failure, then twice as long each time, at most ProbeMax apart.
	// Defaults 1 s and 10 s.
	ProbeEvery, ProbeMax time.Duration
	// Guard, when set, inspects every send (auto-recall's detectors). A
	// guard that sends through the Sender itself is given with WithGuard.
	Guard Guard
	// Spool takes the keys the ledger cannot (see ledger.Spool). Without
	// one, such a key is only logged.
	Spool *ledger.Spool
	// OnSend, when set, is told the outcome of every send (metrics).
	OnSend func(family ledger.Family, err error)
	// ReplayEvery is how often Run replays the spool into the ledger while
	// it holds keys; default 2 s. Pending sends older than the recall
	// window are closed as unknown every minute.
	ReplayEvery time.Duration
	Now         func() time.Time
}

// Sender sends messages and ledgers every one: the entry is written as
// pending before the send API is called and marked sent with its
// processQueryKey before Send returns.
type Sender struct {
	writes *writes // shared by the Senders WithGuard derives
	led    SenderLedger
	api    SendAPI
	log    *zap.Logger
	cfg    SenderConfig
	guard  Guard
	spool  *ledger.Spool
}

// NewSender returns a Sender.
func NewSender(led SenderLedger, api SendAPI, log *zap.Logger, cfg SenderConfig) *Sender {
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.RecordFor <= 0 {
		cfg.RecordFor = 5 * time.Second
	}
	if cfg.ProbeEvery <= 0 {
		cfg.ProbeEvery = time.Second
	}
	if cfg.ProbeMax < cfg.ProbeEvery {
		cfg.ProbeMax = max(10*time.Second, cfg.ProbeEvery)
	}
	if cfg.ReplayEvery <= 0 {
		cfg.ReplayEvery = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sender{writes: &writes{failing: make(chan struct{}, 1)}, led: led, api: api, log: log.Named("sender"), cfg: cfg,
		guard: cfg.Guard, spool: cfg.Spool}
}

// WithGuard returns a Sender that sends as s does (the same ledger, spool
// and readiness) with g inspecting every send. It is how a guard that
// needs a Sender is given one: auto-recall's corrections and reports go
// through the Sender whose sends it inspects, so neither can be built
// with the other; s itself is left as it was.
func (s *Sender) WithGuard(g Guard) *Sender {
	c := *s
	c.guard = g
	return &c
}

// ErrOutcomeUnknown marks a send that may have reached DingTalk but got no
// answer it could read: the message may be in the chat without a key. Its
// entry stays pending and is surfaced.
var ErrOutcomeUnknown = errors.New("the send got no answer: the message may have been delivered without a key")

// ErrLedgerUnavailable marks a send refused because the ledger could not
// record it: the bot never sends what it cannot record.
var ErrLedgerUnavailable = errors.New("the ledger is unavailable; nothing was sent")

// ErrNotSent marks a send that never reached DingTalk (DingTalk
// unreachable, no access token, the caller gave up while it waited for the
// rate limit): nothing was sent, and its entry is send_failed.
var ErrNotSent = errors.New("nothing was sent")

// ErrRecordDelayed marks a send that succeeded while the ledger could not
// take its key: the key is in the local spool, fsynced, and reaches the
// ledger when it is back (ReplaySpool). Until then a recall by that key
// finds nothing.
var ErrRecordDelayed = errors.New("sent; the ledger was unavailable, so the key waits in the local spool until it is back")

// ErrRecordHeld is ErrRecordDelayed when the spool's disk failed too (one
// full disk under both): the key is held in memory and written as soon as
// the spool or the ledger takes it. It is lost only if the process stops
// first; the key is in the error log. errors.Is(err, ErrRecordDelayed).
var ErrRecordHeld error = recordHeld{}

type recordHeld struct{}

func (recordHeld) Error() string {
	return "sent; neither the ledger nor the spool's disk could take the key, so it is held in memory and retried every few seconds (it is lost only if the process stops first)"
}
func (recordHeld) Is(target error) bool { return target == ErrRecordDelayed }

// selfDestructMargin is how much of DingTalk's recall window a
// self-destruct must leave for the recall itself: an expiry at the very
// edge of the window would race DingTalk's own clock.
const selfDestructMargin = time.Minute

// MaxExpiry is the longest expires_in a send may ask for.
func (s *Sender) MaxExpiry() time.Duration { return s.cfg.Window - selfDestructMargin }

// ReplaySpool moves spooled keys into the ledger, if any wait. The bot
// calls it on start and every few seconds; each send tries it first
// (unless a replay is under way: a send never waits behind one), so that
// keys reach the ledger before new work.
func (s *Sender) ReplaySpool(ctx context.Context) error {
	if s.spool.Waiting() == 0 {
		return nil
	}
	n, err := s.spool.Replay(ctx, s.led)
	s.replayed(n)
	return err
}

func (s *Sender) tryReplaySpool(ctx context.Context) error {
	if s.spool.Waiting() == 0 {
		return nil
	}
	n, _, err := s.spool.TryReplay(ctx, s.led)
	s.replayed(n)
	return err
}

func (s *Sender) replayed(n int) {
	if n > 0 {
		s.log.Info("spooled keys replayed into the ledger", zap.Int("records", n))
	}
}

// excerptRunes is how much of a message the ledger keeps for previews.
const excerptRunes = 80

// Excerpt is the start of a message's content on one line.
func Excerpt(content string) string {
	s := strings.Join(strings.Fields(content), " ")
	if utf8.RuneCountInString(s) > excerptRunes {
		s = string([]rune(s)[:excerptRunes-1]) + "…"
	}
	return s
}

func redactWith(redact func(string) string, s string) string {
	if redact == nil {
		return s
	}
	return redact(s)
}

// ContentHash identifies a message's content, for duplicate detection.
func ContentHash(m dingtalk.Message) string {
	h := sha256.Sum256([]byte(m.MsgKey + "\x00" + string(m.MsgParam)))
	return hex.EncodeToString(h[:8])
}

// Send sends m to chat. It returns the ledger entry even on failure: sent
// with its key; send_failed when DingTalk refused or the call never left
// (ErrNotSent); or pending with ErrOutcomeUnknown when DingTalk may have
// acted but its answer was lost. A sent entry whose key the ledger could
// not take comes back with ErrRecordDelayed: the message went out.
func (s *Sender) Send(ctx context.Context, chat ledger.Chat, m dingtalk.Message, o SendOptions) (ledger.Entry, error) {
	if err := chat.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	if err := m.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	if o.ExpiresIn < 0 || o.ExpiresIn > s.MaxExpiry() {
		return ledger.Entry{}, fmt.Errorf("expires_in %s is too long: a self-destruct must come at least a minute before DingTalk's recall window of %s ends, so at most %s",
			HumanDuration(o.ExpiresIn, "en"), HumanDuration(s.cfg.Window, "en"), HumanDuration(s.MaxExpiry(), "en"))
	}
	if s.guard != nil && !o.NoGuard {
		if err := s.guard.Before(ctx, chat, m, o); err != nil {
			return ledger.Entry{}, err
		}
	}
	now := s.cfg.Now()
	e := ledger.Entry{Chat: chat, MsgKey: m.MsgKey, Excerpt: Excerpt(redactWith(s.cfg.Redact, m.Content())),
		ContentHash: ContentHash(m), SentAt: now, Origin: o.Origin, Actor: o.Actor, BatchID: o.BatchID}
	if o.ExpiresIn > 0 {
		e.ExpiresAt = now.Add(o.ExpiresIn)
	}
	seq := uint64(0)
	err := s.tryReplaySpool(ctx) // keys waiting in the spool go first
	if err == nil {
		var appended ledger.Entry
		if appended, err = s.led.Append(ctx, e); err == nil {
			e = appended
		}
	}
	s.noteWrite(err)
	if err != nil {
		if !o.SpoolIfLedgerDown || s.spool == nil {
			return ledger.Entry{}, fmt.Errorf("%w: %w", ErrLedgerUnavailable, err)
		}
		// Journal the intent locally instead; it reaches the ledger later.
		seq = s.spool.NextSeq()
		if serr := s.spool.Add(ledger.SpoolRecord{Seq: seq, Entry: e}); serr != nil {
			return ledger.Entry{}, fmt.Errorf("%w: %w (and the spool: %v)", ErrLedgerUnavailable, err, serr)
		}
	}
	key, sendErr := s.call(ctx, chat, m)
	// From here on the outcome must reach the ledger even if the caller
	// gives up: a key DingTalk returned is never dropped.
	wctx := context.WithoutCancel(ctx)
	if s.cfg.OnSend != nil {
		s.cfg.OnSend(chat.Family, sendErr)
	}
	var ae *dingtalk.APIError
	var re *dingtalk.RecipientError
	switch {
	case sendErr == nil:
		sent, err := s.markSent(wctx, e, key, seq)
		if err != nil {
			return sent, err
		}
		if s.guard != nil && !o.NoGuard {
			s.guard.After(wctx, sent, m, o)
		}
		return sent, nil
	case dingtalk.NotSent(sendErr):
		return s.markFailed(wctx, e, seq, "not sent: "+dingtalk.Describe(sendErr, "en"), fmt.Errorf("%w: %w", ErrNotSent, sendErr))
	case dingtalk.Ambiguous(sendErr):
		s.log.Warn("send outcome unknown; entry stays pending", zap.Uint64("entry", e.ID), zap.String("chat", chat.Key()), zap.Error(sendErr))
		return e, fmt.Errorf("%w (%w)", ErrOutcomeUnknown, sendErr)
	case errors.As(sendErr, &ae), errors.As(sendErr, &re):
		return s.markFailed(wctx, e, seq, failReason(sendErr), sendErr)
	default:
		s.log.Warn("send outcome unknown; entry stays pending", zap.Uint64("entry", e.ID), zap.String("chat", chat.Key()), zap.Error(sendErr))
		return e, fmt.Errorf("%w (%w)", ErrOutcomeUnknown, sendErr)
	}
}

// markFailed records a send that did not happen and returns sendErr.
func (s *Sender) markFailed(ctx context.Context, e ledger.Entry, seq uint64, reason string, sendErr error) (ledger.Entry, error) {
	if seq != 0 { // the intent is in the spool: close it there
		e.Reason = reason
		if err := s.spool.Add(ledger.SpoolRecord{Seq: seq, Entry: e, NotSent: true}); err != nil {
			s.log.Error("spooled send refusal not recorded", zap.Error(err))
		}
		e.State = ledger.SendFailed
		return e, sendErr
	}
	failed, err := s.led.Transition(ctx, e.ID, ledger.Transition{To: ledger.SendFailed, Reason: reason})
	if err != nil {
		s.log.Error("send refusal not recorded; the entry stays pending", zap.Uint64("entry", e.ID), zap.Error(err))
		return e, sendErr
	}
	return failed, sendErr
}

func failReason(err error) string {
	var ae *dingtalk.APIError
	if errors.As(err, &ae) {
		if ae.Code != "" {
			return ae.Code
		}
		return fmt.Sprintf("HTTP %d", ae.Status)
	}
	var re *dingtalk.RecipientError
	if errors.As(err, &re) {
		return "recipient " + re.Reason
	}
	return err.Error()
}

// markSent records the key. While the ledger fails it tries again, with
// backoff, for RecordFor; then it writes the key to the spool (fsynced) and
// returns the sent entry with ErrRecordDelayed. Only if the spool fails too
// is the key left in the log alone, at error level, for an operator.
func (s *Sender) markSent(ctx context.Context, e ledger.Entry, key string, seq uint64) (ledger.Entry, error) {
	sent := e
	sent.State, sent.ProcessQueryKey, sent.UpdatedAt = ledger.Sent, key, s.cfg.Now()
	var err error
	if seq == 0 { // the pending entry is in the ledger
		var got ledger.Entry
		err = retryWrite(ctx, s.cfg.RecordFor, func(ctx context.Context) (err error) {
			got, err = s.led.Transition(ctx, e.ID, ledger.Transition{To: ledger.Sent, Key: key})
			return err
		})
		if err == nil {
			return got, nil
		}
		s.log.Warn("the ledger did not take a key; spooling it", zap.Uint64("entry", e.ID), zap.Error(err))
	}
	if s.spool != nil {
		if seq == 0 {
			seq = s.spool.NextSeq()
		}
		serr := s.spool.AddOrHold(ledger.SpoolRecord{Seq: seq, Entry: e, Key: key})
		if serr == nil {
			return sent, ErrRecordDelayed
		}
		s.log.Error("sent, but neither the ledger nor the spool's disk took the key: held in memory and retried",
			zap.Uint64("entry", e.ID), zap.String("process_query_key", key), zap.Error(errors.Join(err, serr)))
		return sent, ErrRecordHeld
	}
	s.log.Error("sent, but the key could not be recorded", zap.Uint64("entry", e.ID), zap.String("process_query_key", key), zap.Error(err))
	return sent, fmt.Errorf("sent, but the key was not recorded: %w", err)
}

// retryWrite calls write until it succeeds, the ledger answers that it
// cannot (a TransitionError, ErrNotFound), or d has passed, with backoff.
func retryWrite(ctx context.Context, d time.Duration, write func(context.Context) error) error {
	deadline := time.Now().Add(d)
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithDeadline(ctx, deadline)
		err := write(actx)
		cancel()
		var te *ledger.TransitionError
		if err == nil || errors.As(err, &te) || errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		pause := min(50*time.Millisecond<<min(attempt, 5), time.Second)
		if time.Until(deadline) < pause {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

func (s *Sender) call(ctx context.Context, chat ledger.Chat, m dingtalk.Message) (string, error) {
	switch chat.Family {
	case ledger.Private:
		return s.api.SendPrivate(ctx, chat.ConversationID, m)
	case ledger.OTO:
		return s.api.SendOTO(ctx, chat.UserID, m)
	case ledger.Group:
		return s.api.SendGroup(ctx, chat.ConversationID, m)
	}
	return "", fmt.Errorf("unknown family %q", chat.Family)
}

// NewBatchID returns a readable, unique batch id: b-20261126-0215-3f9a.
func NewBatchID(now time.Time) string {
	var b [2]byte
	_, _ = randRead(b[:])
	return fmt.Sprintf("b-%s-%s", now.Format("20060102-1504"), hex.EncodeToString(b[:]))
}
