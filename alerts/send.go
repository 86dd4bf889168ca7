package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// send sends a new message for the group's latest version, written ahead
// in the ledger, and settles it with the group in one commit. replaces,
// when set, is recalled once the new message is there: the chat is never
// without the group's state.
func (r *Reconciler) send(ctx context.Context, g ledger.AlertGroup, st State, replaces uint64, outcome string) (ledger.AlertGroup, error) {
	in := ledger.AlertSend{Version: g.Version, Replaces: replaces, Resolved: closes(g, st)}
	if g.Short == "" {
		in.Short = r.shortID(ctx, g)
		g.Short = in.Short
	}
	msg := r.draw(st, g)
	short := displayID(g)
	e := ledger.Entry{Chat: g.Chat, MsgKey: "sampleMarkdown", SentAt: r.cfg.Now(), Origin: ledger.OriginAuto, Actor: "alerts:" + g.Route,
		Excerpt: recall.Excerpt(r.cfg.Redact(fmt.Sprintf("[%s] %s", short, strings.TrimSuffix(msg.Title, " #"+short)))), ContentHash: hashOf(msg.Markdown)}
	card := r.style(g.Chat) == StyleCard
	if card {
		e.MsgKey, in.Card = dingtalk.StandardCard, newBizID(g.ID)
	}
	g, e, err := r.led.StartAlertSend(ctx, g.ID, r.cfg.Owner, in, e)
	if err != nil {
		return g, fmt.Errorf("writing the message ahead: %w", err)
	}
	var key string
	if !card && r.cfg.LateAnswer > 0 {
		// A markdown message cannot be looked for: a key DingTalk answers
		// after the timeout is the one way to take a lost send back.
		groupID, entryID := g.ID, e.ID
		ctx = dingtalk.WithLateAnswer(ctx, r.cfg.LateAnswer, &r.late, func(key string) { r.lateKey(groupID, entryID, key) })
	}
	switch {
	case card && g.Chat.Family == ledger.Group:
		key, err = r.api.SendCard(ctx, dingtalk.CardChat{ConversationID: g.Chat.ConversationID}, in.Card, msg.Card)
	case card:
		key, err = r.api.SendCard(ctx, dingtalk.CardChat{UserID: g.Chat.UserID}, in.Card, msg.Card)
	case g.Chat.Family == ledger.Group:
		key, err = r.api.SendGroup(ctx, g.Chat.ConversationID, dingtalk.Markdown(msg.Title, msg.Markdown))
	default:
		key, err = r.api.SendOTO(ctx, g.Chat.UserID, dingtalk.Markdown(msg.Title, msg.Markdown))
	}
	// The outcome is recorded even if ctx ends now: a key DingTalk gave
	// is never dropped.
	wctx := context.WithoutCancel(ctx)
	failed := func(reason string) *ledger.Change {
		return &ledger.Change{ID: e.ID, Transition: ledger.Transition{To: ledger.SendFailed, Reason: reason}}
	}
	switch {
	case err == nil:
		r.metrics.message(g.Route, outcome, 1)
		return r.settle(wctx, g, &ledger.Change{ID: e.ID, Transition: ledger.Transition{To: ledger.Sent, Key: key}}, key, adopt(key))
	case card && dingtalk.CardsRefused(err):
		r.cardsRefused(ctx, err)
		return r.settle(wctx, g, failed(failReason(err)), "", func(s *ledger.AlertGroup) { s.Inflight = nil })
	case dingtalk.NotSent(err):
		g, serr := r.settle(wctx, g, failed("not sent: "+dingtalk.Describe(err, "en")), "", func(s *ledger.AlertGroup) { s.Inflight = nil })
		return g, errors.Join(err, serr)
	case card && dingtalk.Ambiguous(err):
		return g, err // in flight: its card is looked for by its id next time
	case dingtalk.Ambiguous(err):
		r.log.Warn("an alert message got no answer: it may be in the chat without a key (its entry stays pending; a key DingTalk answers later is recorded and the message recalled)",
			zap.String("group", ShortID(g.ID)), zap.Uint64("entry", e.ID), zap.Error(err))
		g, serr := r.settle(wctx, g, nil, "", func(s *ledger.AlertGroup) { s.Inflight, s.Note = nil, "a send got no answer" })
		return g, errors.Join(err, serr)
	}
	// Refused for good (the bot is not in the group, the user unknown):
	// this version is given up; the next notification tries again.
	r.metrics.message(g.Route, outcomeFailed, 1)
	reason := dingtalk.Describe(err, "en")
	r.log.Error("DingTalk refused an alert message", zap.String("group", ShortID(g.ID)), zap.String("chat", g.Chat.Key()), zap.Error(err))
	return r.settle(wctx, g, failed(failReason(err)), "", func(s *ledger.AlertGroup) { s.Inflight, s.Note = nil, reason; shownAs(s, in.Version) })
}

// adopt makes the message in flight the group's current one.
func adopt(key string) func(*ledger.AlertGroup) {
	return func(s *ledger.AlertGroup) {
		in := s.Inflight
		if in == nil {
			return
		}
		if in.Replaces != 0 {
			s.Retire = append(s.Retire, in.Replaces)
		}
		if s.Short == "" {
			s.Short = in.Short
		}
		s.Entry, s.Key, s.Card, s.Closed, s.Inflight, s.Note = in.Entry, key, in.Card, in.Resolved, nil, ""
		shownAs(s, in.Version)
	}
}

// settleInflight settles a send written ahead whose outcome this worker
// did not see: its process stopped, or DingTalk did not answer.
func (r *Reconciler) settleInflight(ctx context.Context, g ledger.AlertGroup) (ledger.AlertGroup, error) {
	in := *g.Inflight
	e, err := r.led.Get(ctx, in.Entry)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return r.update(ctx, g, nil, func(s *ledger.AlertGroup) { s.Inflight = nil })
	case err != nil:
		return g, err
	case e.State == ledger.Sent: // its key reached the ledger (the spool's replay)
		return r.settle(ctx, g, nil, e.ProcessQueryKey, adopt(e.ProcessQueryKey))
	case e.State != ledger.Pending: // it never went out
		return r.update(ctx, g, nil, func(s *ledger.AlertGroup) { s.Inflight = nil })
	case in.Card == "":
		// DingTalk cannot say whether a markdown message arrived: the entry
		// stays pending for an operator, and a new message goes out.
		r.log.Warn("an alert message's send has no known outcome; its entry stays pending and the group's state is sent again",
			zap.String("group", ShortID(g.ID)), zap.Uint64("entry", e.ID))
		return r.update(ctx, g, nil, func(s *ledger.AlertGroup) { s.Inflight, s.Note = nil, "a send got no answer" })
	}
	// A card can be asked for by its id: an update finds it if it exists.
	st, err := stateOf(g)
	if err != nil {
		return g, err
	}
	key, err := r.api.UpdateCard(ctx, in.Card, r.draw(st, g).Card)
	wctx := context.WithoutCancel(ctx)
	switch {
	case err == nil && key != "":
		in := in
		v, resolved := g.Version, closes(g, st)
		return r.settle(wctx, g, &ledger.Change{ID: e.ID, Transition: ledger.Transition{To: ledger.Sent, Key: key}}, key, func(s *ledger.AlertGroup) {
			s.Inflight = &in
			s.Inflight.Version, s.Inflight.Resolved = v, resolved
			adopt(key)(s)
		})
	case err == nil: // shown, but with no key to record: it can be updated, not recalled
		return r.update(wctx, g, nil, func(s *ledger.AlertGroup) {
			s.Entry, s.Key, s.Card, s.Closed, s.Inflight = e.ID, "", in.Card, closes(g, st), nil
			if s.Short == "" {
				s.Short = in.Short
			}
			shownAs(s, g.Version)
		})
	case dingtalk.CardGone(err) || dingtalk.CardsRefused(err):
		return r.settle(wctx, g, &ledger.Change{ID: e.ID, Transition: ledger.Transition{To: ledger.SendFailed, Reason: "not sent: DingTalk has no such card"}}, "",
			func(s *ledger.AlertGroup) { s.Inflight = nil })
	}
	return g, fmt.Errorf("looking for a card whose send got no answer: %w", err)
}

// lateKey records the key DingTalk answered late for a markdown send the
// reconciler had given up on: the entry is sent, and the message is
// recalled (the group's state went out again meanwhile), or, if the send
// is still the group's send in flight, it is the group's message.
func (r *Reconciler) lateKey(groupID string, entryID uint64, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.led.UpdateAlert(ctx, groupID, "", &ledger.Change{ID: entryID, Transition: ledger.Transition{To: ledger.Sent, Key: key}}, func(s *ledger.AlertGroup) error {
		switch {
		case s.Inflight != nil && s.Inflight.Entry == entryID:
			adopt(key)(s)
		case s.Entry != entryID && !slices.Contains(s.Retire, entryID):
			s.Retire = append(s.Retire, entryID)
		}
		return nil
	})
	if err != nil {
		r.log.Error("DingTalk answered an alert message's key late, and the ledger did not take it: the message stays in the chat without a key",
			zap.String("group", ShortID(groupID)), zap.Uint64("entry", entryID), zap.String("process_query_key", key), zap.Error(err))
		return
	}
	r.log.Info("an alert message DingTalk answered late is recorded and will be recalled", zap.String("group", ShortID(groupID)), zap.Uint64("entry", entryID))
	r.Notify(groupID)
}

// newBizID is a new card's cardBizId: unique for the app, since an update
// finds a card by it alone.
func newBizID(group string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "rb-" + group[:min(len(group), 20)] + "-" + hex.EncodeToString(b[:])
}

func hashOf(s string) string {
	return recall.ContentHash(dingtalk.Message{MsgKey: "alert", MsgParam: []byte(fmt.Sprintf("%q", s))})
}

func code(err error) string {
	var ae *dingtalk.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func failReason(err error) string {
	if c := code(err); c != "" {
		return c
	}
	return err.Error()
}
