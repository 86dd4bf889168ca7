package autorecall

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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
		Why: "replaced", Note: fmt.Sprintf("#%d", corr.ID)})
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

// Run runs the automatic recalls that are due, every DueEvery, until ctx
// ends: messages whose expires_in has passed, and messages
// a recall rule caught after they were sent. Both live in the ledger's due
// list, so they survive a restart and each message is recalled once: the
// engine's claim is atomic, even with several instances running this.
// Self-destructs are expected, so they do not count against the circuit
// breaker and only failures are reported to the admins.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.DueEvery)
	defer t.Stop()
	for {
		s.RecallDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RecallDue recalls what is due now, once (Run calls it on every tick),
// and returns the self-destructs' receipt, nil if none were due. A
// message whose recall failed for good (DingTalk refused it, or it is past
// the window) leaves the due list and is reported to the admins once; one
// that failed for a reason that may pass (DingTalk unreachable, a system
// error) is tried again later, backing off (twice the time it is overdue,
// 5 s to 10 minutes), and reported only when it fails for good.
func (s *Service) RecallDue(ctx context.Context) *recall.Receipt {
	now := s.cfg.Now()
	due, err := s.led.Due(ctx, now, 1000)
	if err != nil || len(due) == 0 {
		if err != nil && ctx.Err() == nil {
			s.dueErrors.Warn(s.log, "reading due recalls", err)
		}
		return nil
	}
	s.dueErrors.Reset()
	var expired []uint64
	byRule := map[caught][]uint64{}
	var rules []caught
	for _, e := range due {
		var c caught
		v, found, _, err := s.led.TakeTempIf(ctx, caughtNS, strconv.FormatUint(e.ID, 10), func([]byte) bool { return false })
		switch {
		case err == nil && found && json.Unmarshal(v, &c) == nil:
		case !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now):
			expired = append(expired, e.ID)
			continue
		default: // due without a record of why: a rule's, whose record was lost
			c = caught{Rule: "autorecall", Reason: "a recall rule caught it"}
		}
		if byRule[c] == nil {
			rules = append(rules, c)
		}
		byRule[c] = append(byRule[c], e.ID)
	}
	for _, c := range rules {
		if r := s.autoRecall(ctx, c.Rule, c.Reason, byRule[c]); r != nil {
			s.settleDue(ctx, r, now)
		} else {
			for _, id := range byRule[c] { // the breaker is open, or the recall could not run
				s.reschedule(ctx, id, time.Time{})
			}
		}
	}
	if len(expired) == 0 {
		return nil
	}
	r, err := s.engine.Recall(ctx, recall.Request{Selection: recall.Selection{IDs: expired}, Actor: "rule:self-destruct", Action: "self_destruct",
		Why: "expired"})
	if err != nil {
		s.log.Error("self-destruct failed", zap.Error(err))
		return nil
	}
	s.count("self-destruct", Enforce)
	s.log.Info("self-destruct", zap.String("receipt", r.Summary("en")))
	if s.settleDue(ctx, r, now) > 0 {
		s.notify(ctx, s.say("expiry.failed", r.Summary(s.cfg.Locale), r.AuditID))
	}
	return r
}

// settleDue takes the items of a due recall off the due list or pushes
// them back, and returns how many failed for good.
func (s *Service) settleDue(ctx context.Context, r *recall.Receipt, now time.Time) (final int) {
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
	return final
}

func (s *Service) reschedule(ctx context.Context, id uint64, at time.Time) {
	if err := s.led.Reschedule(context.WithoutCancel(ctx), id, at); err != nil {
		s.log.Error("self-destruct not rescheduled", zap.Uint64("entry", id), zap.Error(err))
	}
}
