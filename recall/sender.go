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
	"sync"
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
}

// SenderConfig tunes a Sender; the zero value is the default.
type SenderConfig struct {
	// Window is DingTalk's recall window; an expiry beyond it is refused.
	// Default 24 h.
	Window time.Duration
	// Concurrency bounds Broadcast's parallel sends; default 4.
	Concurrency int
	Now         func() time.Time
}

// Sender sends messages and ledgers every one: the entry is written as
// pending before the send API is called and marked sent with its
// processQueryKey before Send returns.
type Sender struct {
	led   ledger.Store
	api   SendAPI
	log   *zap.Logger
	cfg   SenderConfig
	guard Guard

	// OnSend, when set, is told the outcome of every send (metrics).
	OnSend func(family ledger.Family, err error)
}

// NewSender returns a Sender.
func NewSender(led ledger.Store, api SendAPI, log *zap.Logger, cfg SenderConfig) *Sender {
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sender{led: led, api: api, log: log.Named("sender"), cfg: cfg}
}

// SetGuard installs the guard that inspects every send.
func (s *Sender) SetGuard(g Guard) { s.guard = g }

// ErrOutcomeUnknown marks a send that got no answer: the message may be in
// the chat without a key. Its entry stays pending and is surfaced.
var ErrOutcomeUnknown = errors.New("the send got no answer: the message may have been delivered without a key")

// ErrLedgerUnavailable marks a send refused because the ledger could not
// record it: the bot never sends what it cannot record.
var ErrLedgerUnavailable = errors.New("the ledger is unavailable; nothing was sent")

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

// ContentHash identifies a message's content, for duplicate detection.
func ContentHash(m dingtalk.Message) string {
	h := sha256.Sum256([]byte(m.MsgKey + "\x00" + string(m.MsgParam)))
	return hex.EncodeToString(h[:8])
}

// Send sends m to chat. It returns the ledger entry even on failure: sent
// with its key, send_failed when DingTalk refused (nothing to recall), or
// pending with ErrOutcomeUnknown when DingTalk did not answer.
func (s *Sender) Send(ctx context.Context, chat ledger.Chat, m dingtalk.Message, o SendOptions) (ledger.Entry, error) {
	if err := chat.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	if err := m.Validate(); err != nil {
		return ledger.Entry{}, err
	}
	if o.ExpiresIn < 0 || o.ExpiresIn > s.cfg.Window {
		return ledger.Entry{}, fmt.Errorf("expires_in %s is outside DingTalk's recall window of %s: the message could not be recalled then", o.ExpiresIn, s.cfg.Window)
	}
	if s.guard != nil && !o.NoGuard {
		if err := s.guard.Before(ctx, chat, m, o); err != nil {
			return ledger.Entry{}, err
		}
	}
	now := s.cfg.Now()
	e := ledger.Entry{Chat: chat, MsgKey: m.MsgKey, Excerpt: Excerpt(m.Content()), ContentHash: ContentHash(m),
		SentAt: now, Origin: o.Origin, Actor: o.Actor, BatchID: o.BatchID}
	if o.ExpiresIn > 0 {
		e.ExpiresAt = now.Add(o.ExpiresIn)
	}
	e, err := s.led.Append(ctx, e)
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("%w: %v", ErrLedgerUnavailable, err)
	}
	key, sendErr := s.call(ctx, chat, m)
	// From here on the outcome must reach the ledger even if the caller
	// gives up: a key DingTalk returned is never dropped.
	wctx := context.WithoutCancel(ctx)
	if s.OnSend != nil {
		s.OnSend(chat.Family, sendErr)
	}
	var ae *dingtalk.APIError
	var re *dingtalk.RecipientError
	switch {
	case sendErr == nil:
		sent, err := s.markSent(wctx, e.ID, key)
		if err != nil {
			return e, err
		}
		if s.guard != nil && !o.NoGuard {
			s.guard.After(wctx, sent, m, o)
		}
		return sent, nil
	case errors.As(sendErr, &ae), errors.As(sendErr, &re):
		failed, err := s.led.Transition(wctx, e.ID, ledger.Transition{To: ledger.SendFailed, Reason: failReason(sendErr)})
		if err != nil {
			s.log.Error("send refusal not recorded", zap.Uint64("entry", e.ID), zap.Error(err))
			return e, sendErr
		}
		return failed, sendErr
	default:
		s.log.Warn("send outcome unknown; entry stays pending", zap.Uint64("entry", e.ID), zap.String("chat", chat.Key()), zap.Error(sendErr))
		return e, fmt.Errorf("%w (%v)", ErrOutcomeUnknown, sendErr)
	}
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

// markSent records the key, trying a few times: losing it would make the
// message unrecallable. If it still fails, the key is logged at error level
// so an operator can recover it.
func (s *Sender) markSent(ctx context.Context, id uint64, key string) (ledger.Entry, error) {
	var err error
	for attempt := range 5 {
		var e ledger.Entry
		if e, err = s.led.Transition(ctx, id, ledger.Transition{To: ledger.Sent, Key: key}); err == nil {
			return e, nil
		}
		var te *ledger.TransitionError
		if errors.As(err, &te) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	s.log.Error("sent, but the key could not be recorded", zap.Uint64("entry", id), zap.String("process_query_key", key), zap.Error(err))
	return ledger.Entry{}, fmt.Errorf("sent, but the key was not recorded: %w", err)
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

// Result is one target of a broadcast.
type Result struct {
	Chat  ledger.Chat
	Entry ledger.Entry
	Err   error
}

// Broadcast sends m to every chat under one batch id (o.BatchID, or a new
// one), a few at a time, paced by the client's rate limiter, and reports
// each target. The batch can be recalled as one with Selection.BatchID.
func (s *Sender) Broadcast(ctx context.Context, chats []ledger.Chat, m dingtalk.Message, o SendOptions) (string, []Result) {
	if o.BatchID == "" {
		o.BatchID = NewBatchID(s.cfg.Now())
	}
	results := make([]Result, len(chats))
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, c := range chats {
		results[i].Chat = c
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].Err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i].Entry, results[i].Err = s.Send(ctx, c, m, o)
		}()
	}
	wg.Wait()
	return o.BatchID, results
}

// NewBatchID returns a readable, unique batch id: b-20261126-0215-3f9a.
func NewBatchID(now time.Time) string {
	var b [2]byte
	_, _ = randRead(b[:])
	return fmt.Sprintf("b-%s-%s", now.Format("20060102-1504"), hex.EncodeToString(b[:]))
}
