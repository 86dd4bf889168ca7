package autorecall

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Replacement is the outcome of Replace.
type Replacement struct {
	Correction ledger.Entry    `json:"correction"`
	Recall     *recall.Receipt `json:"recall"`
	// OriginalRecalled is false when the original could not be recalled;
	// the correction stays either way.
	OriginalRecalled bool `json:"original_recalled"`
}

// Replace supersedes the message with processQueryKey key: it sends the
// correction to the same chat, links the two in the ledger, then recalls
// the original. If the recall fails the caller is told, and the correction
// stays.
func (s *Service) Replace(ctx context.Context, key string, m dingtalk.Message, actor string) (*Replacement, error) {
	old, err := s.led.ByKey(ctx, key)
	if err != nil {
		return nil, err
	}
	corr, err := s.sender.Send(ctx, old.Chat, m, recall.SendOptions{Origin: ledger.OriginAPI, Actor: actor})
	if err != nil {
		return nil, fmt.Errorf("the correction was not sent, the original stays: %w", err)
	}
	if err := s.led.Link(context.WithoutCancel(ctx), old.ID, corr.ID); err != nil {
		s.log.Error("correction not linked", zap.Uint64("original", old.ID), zap.Uint64("correction", corr.ID), zap.Error(err))
	}
	corr.Supersedes = old.ID
	r, err := s.engine.Recall(ctx, recall.Request{Selection: recall.Selection{IDs: []uint64{old.ID}}, Actor: actor, Action: "supersede",
		Note: fmt.Sprintf("replaced by entry %d", corr.ID)})
	if err != nil {
		return &Replacement{Correction: corr}, fmt.Errorf("the correction was sent; the original was not recalled: %w", err)
	}
	return &Replacement{Correction: corr, Recall: r, OriginalRecalled: r.Count(recall.Recalled) == 1}, nil
}

// Retract recalls the message with processQueryKey key because its sender
// found a mistake, with the reason on the record.
func (s *Service) Retract(ctx context.Context, key, reason, actor string) (*recall.Receipt, error) {
	if reason == "" {
		return nil, &recall.SelectionError{Msg: "a retraction needs a reason", Zh: "撤回需要说明原因"}
	}
	if _, err := s.led.ByKey(ctx, key); err != nil {
		return nil, err
	}
	return s.engine.Recall(ctx, recall.Request{Selection: recall.Selection{Keys: []string{key}}, Actor: actor, Action: "retract", Note: reason})
}

// RunSelfDestruct recalls messages whose expires_in has passed, checking
// every interval (default 1 s) until ctx ends. Expiry times live in the
// ledger, so timers survive a restart, and each message is recalled once:
// the engine's claim is atomic, even with several instances running this.
// Self-destructs are expected, so they do not count against the circuit
// breaker and only failures are reported to the admins.
func (s *Service) RunSelfDestruct(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.SelfDestructDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SelfDestructDue recalls the messages due now, once; RunSelfDestruct calls
// it on every tick. A message whose recall failed for good (DingTalk
// refused it, or it is past the window) leaves the due list and is
// reported to the admins once; one that failed for a reason that may pass
// (DingTalk unreachable, a system error) is tried again later, backing off
// (twice the time it is overdue, 5 s to 10 minutes), and reported only
// when it fails for good.
func (s *Service) SelfDestructDue(ctx context.Context) *recall.Receipt {
	now := s.cfg.Now()
	due, err := s.led.Due(ctx, now, 1000)
	if err != nil || len(due) == 0 {
		if err != nil && ctx.Err() == nil {
			s.dueErrors.log(s.log, "reading due self-destructs", err)
		}
		return nil
	}
	s.dueErrors.reset()
	ids := make([]uint64, len(due))
	for i, e := range due {
		ids[i] = e.ID
	}
	r, err := s.engine.Recall(ctx, recall.Request{Selection: recall.Selection{IDs: ids}, Actor: "rule:self-destruct", Action: "self_destruct",
		Note: "expires_in reached"})
	if err != nil {
		s.log.Error("self-destruct failed", zap.Error(err))
		return nil
	}
	s.count("self-destruct", Enforce)
	s.log.Info("self-destruct", zap.String("receipt", r.Summary("en")))
	final := 0
	for _, it := range r.Items {
		switch {
		case it.Outcome == recall.Failed && it.Transient, it.Outcome == recall.NotAttempted:
			overdue := max(now.Sub(it.Entry.DueAt), 0)
			next := now.Add(min(max(2*overdue, 5*time.Second), 10*time.Minute))
			s.reschedule(ctx, it.Entry.ID, next)
		case it.Outcome == recall.Failed, it.Outcome == recall.Unknown, it.Outcome == recall.NeverSent:
			s.reschedule(ctx, it.Entry.ID, time.Time{}) // for good: off the due list
			final++
		case it.Outcome == recall.TooOld:
			final++ // expired: off the due list by its state
		}
	}
	if final > 0 {
		s.notify(ctx, s.say("expiry.failed", r.Summary(s.cfg.Locale), r.AuditID))
	}
	return r
}

func (s *Service) reschedule(ctx context.Context, id uint64, at time.Time) {
	if err := s.led.Reschedule(context.WithoutCancel(ctx), id, at); err != nil {
		s.log.Error("self-destruct not rescheduled", zap.Uint64("entry", id), zap.Error(err))
	}
}

// errorLog logs a repeated error when it changes, and otherwise once a
// minute with how often it repeated, so that an outage does not write a
// line every second.
type errorLog struct {
	mu      sync.Mutex
	last    string
	at      time.Time
	repeats int
}

func (l *errorLog) log(log *zap.Logger, msg string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err.Error() == l.last && time.Since(l.at) < time.Minute {
		l.repeats++
		return
	}
	log.Warn(msg, zap.Error(err), zap.Int("repeats", l.repeats))
	l.last, l.at, l.repeats = err.Error(), time.Now(), 0
}

func (l *errorLog) reset() {
	l.mu.Lock()
	l.last, l.repeats = "", 0
	l.mu.Unlock()
}
