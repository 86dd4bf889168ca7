package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// errLeaseLost stops a DingTalk call of a worker that held its group too
// long without renewing it (a stalled process): another instance may have
// taken the group over.
var errLeaseLost = errors.New("this instance's hold on the alert group lapsed")

// maxSteps bounds one worker's turn on a group: a send in flight to
// settle, the message to bring in line, the messages it replaced to
// recall, and a newer state that came meanwhile.
const maxSteps = 8

// work brings one group in line, one DingTalk call a step, as long as it
// is this instance's: taken under the process's lease, and taken again
// every third of the lease's life. Each call checks the hold at the last
// moment (dingtalk.WithGuard), so a process that stalled past it never
// sends what the instance that took over sends too.
func (r *Reconciler) work(ctx context.Context, id string) error {
	ttl := r.cfg.LeaseTTL
	g, mine, err := r.led.TakeAlert(ctx, id, ledger.Claimant{Owner: r.cfg.Owner, At: r.cfg.Now(), LeaseTTL: ttl})
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return nil // pruned: nothing left to do
	case err != nil || !mine:
		return err // another instance works on it: its turn, not ours
	}
	var taken atomic.Int64
	taken.Store(time.Now().UnixNano())
	held := func() time.Duration { return time.Since(time.Unix(0, taken.Load())) }
	wctx := dingtalk.WithPriority(ctx, dingtalk.Bulk) // storms go after admins' commands
	wctx = dingtalk.WithGuard(wctx, func() error {
		if held() > ttl*2/3 {
			return errLeaseLost
		}
		return nil
	})
	for step := 0; g.Due() && step < maxSteps && ctx.Err() == nil; step++ {
		if held() > ttl/3 {
			if g, mine, err = r.led.TakeAlert(ctx, id, ledger.Claimant{Owner: r.cfg.Owner, At: r.cfg.Now(), LeaseTTL: ttl}); err != nil || !mine {
				return err
			}
			taken.Store(time.Now().UnixNano())
		}
		if g, err = r.step(wctx, g); err != nil {
			return err
		}
	}
	return nil
}

// step takes the one next action a group needs.
func (r *Reconciler) step(ctx context.Context, g ledger.AlertGroup) (ledger.AlertGroup, error) {
	switch {
	case g.Inflight != nil:
		return r.settleInflight(ctx, g)
	case g.Version != g.Shown:
		return r.show(ctx, g)
	}
	return r.retire(ctx, g)
}

// show brings the chat to the group's latest version.
func (r *Reconciler) show(ctx context.Context, g ledger.AlertGroup) (ledger.AlertGroup, error) {
	v := g.Version
	st, err := stateOf(g)
	if err != nil {
		return r.update(ctx, g, nil, func(s *ledger.AlertGroup) { s.Shown, s.Note = v, "unreadable state: "+err.Error() })
	}
	current := g.Entry
	if current != 0 && !r.stillShown(ctx, current) {
		current = 0 // recalled by hand, or past the window
	}
	firing := st.Firing()
	onResolved := r.cfg.Alerts.OnResolved
	closeAs := func(retire uint64) (ledger.AlertGroup, error) {
		return r.update(ctx, g, nil, func(s *ledger.AlertGroup) {
			if retire != 0 {
				s.Retire = append(s.Retire, retire)
				s.Entry, s.Key, s.Card = 0, "", ""
			}
			s.Shown, s.Closed = v, true
		})
	}
	switch {
	case !firing && (current == 0 || g.Closed):
		return closeAs(0) // nothing fires, and nothing shows it firing: nothing to say
	case current == 0:
		return r.send(ctx, g, st, 0, outcomeSent)
	case g.Closed: // it fires again after it resolved: a new message, which rings
		replaces := uint64(0)
		if onResolved == ResolvedUpdate {
			replaces = current // the old resolved message goes once the new one is there
		}
		return r.send(ctx, g, st, replaces, outcomeSent)
	case !firing && onResolved == ResolvedRecall:
		return closeAs(current)
	case !firing && onResolved == ResolvedKeep:
		return closeAs(0)
	}
	return r.change(ctx, g, st, current)
}

// stillShown reports whether a message may still be in its chat: sent,
// and not recalled or being recalled.
func (r *Reconciler) stillShown(ctx context.Context, id uint64) bool {
	e, err := r.led.Get(ctx, id)
	if err != nil {
		return !errors.Is(err, ledger.ErrNotFound)
	}
	return e.State == ledger.Sent || e.State == ledger.RecallFailed
}

// change shows a new version of a group that has a current message: its
// card updated in place, else a new message that supersedes it.
func (r *Reconciler) change(ctx context.Context, g ledger.AlertGroup, st State, current uint64) (ledger.AlertGroup, error) {
	if g.Card != "" && r.cardsUsable() {
		v, firing := g.Version, st.Firing()
		_, err := r.api.UpdateCard(ctx, g.Card, r.draw(st, g).Card)
		switch {
		case err == nil:
			r.metrics.message(g.Route, outcomeUpdated, 1)
			return r.settle(ctx, g, nil, "", func(s *ledger.AlertGroup) { s.Shown, s.Closed, s.Note = v, !firing, "" })
		case dingtalk.CardsRefused(err):
			r.cardsRefused(ctx, err) // supersede it with markdown
		case dingtalk.CardGone(err):
			return r.send(ctx, g, st, 0, outcomeSent) // someone took it back: a new one
		case dingtalk.Retryable(err) || dingtalk.Ambiguous(err):
			return g, fmt.Errorf("updating the card: %w", err) // an update may be repeated: try again later
		default:
			r.log.Warn("card update refused; superseding the card with a new message", zap.String("group", ShortID(g.ID)), zap.Error(err))
		}
	}
	return r.send(ctx, g, st, current, outcomeSuperseded)
}

// send sends a new message for the group's latest version, written ahead
// in the ledger, and settles it with the group in one commit. replaces,
// when set, is recalled once the new message is there: the chat is never
// without the group's state.
func (r *Reconciler) send(ctx context.Context, g ledger.AlertGroup, st State, replaces uint64, outcome string) (ledger.AlertGroup, error) {
	msg := r.draw(st, g)
	e := ledger.Entry{Chat: g.Chat, MsgKey: "sampleMarkdown", SentAt: r.cfg.Now(), Origin: ledger.OriginAuto, Actor: "alerts:" + g.Route,
		Excerpt: recall.Excerpt(r.cfg.Redact(fmt.Sprintf("[%s] %s", ShortID(g.ID), strings.TrimSuffix(msg.Title, " #"+ShortID(g.ID))))), ContentHash: hashOf(msg.Markdown)}
	in := ledger.AlertSend{Version: g.Version, Replaces: replaces, Resolved: !st.Firing()}
	card := r.style(g.Chat) == StyleCard
	if card {
		e.MsgKey, in.Card = dingtalk.StandardCard, newBizID(g.ID)
	}
	g, e, err := r.led.StartAlertSend(ctx, g.ID, r.cfg.Owner, in, e)
	if err != nil {
		return g, fmt.Errorf("writing the message ahead: %w", err)
	}
	var key string
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
		r.log.Warn("an alert message got no answer: it may be in the chat without a key (its entry stays pending)",
			zap.String("group", ShortID(g.ID)), zap.Uint64("entry", e.ID), zap.Error(err))
		g, serr := r.settle(wctx, g, nil, "", func(s *ledger.AlertGroup) { s.Inflight, s.Note = nil, "a send got no answer" })
		return g, errors.Join(err, serr)
	}
	// Refused for good (the bot is not in the group, the user unknown):
	// this version is given up; the next notification tries again.
	r.metrics.message(g.Route, outcomeFailed, 1)
	reason := dingtalk.Describe(err, "en")
	r.log.Error("DingTalk refused an alert message", zap.String("group", ShortID(g.ID)), zap.String("chat", g.Chat.Key()), zap.Error(err))
	return r.settle(wctx, g, failed(failReason(err)), "", func(s *ledger.AlertGroup) { s.Inflight, s.Shown, s.Note = nil, in.Version, reason })
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
		s.Entry, s.Key, s.Card, s.Shown, s.Closed, s.Inflight, s.Note = in.Entry, key, in.Card, in.Version, in.Resolved, nil, ""
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
		v, resolved := g.Version, !st.Firing()
		return r.settle(wctx, g, &ledger.Change{ID: e.ID, Transition: ledger.Transition{To: ledger.Sent, Key: key}}, key, func(s *ledger.AlertGroup) {
			s.Inflight = &in
			s.Inflight.Version, s.Inflight.Resolved = v, resolved
			adopt(key)(s)
		})
	case err == nil: // shown, but with no key to record: it can be updated, not recalled
		return r.update(wctx, g, nil, func(s *ledger.AlertGroup) {
			s.Entry, s.Key, s.Card, s.Shown, s.Closed, s.Inflight = e.ID, "", in.Card, g.Version, !st.Firing(), nil
		})
	case dingtalk.CardGone(err) || dingtalk.CardsRefused(err):
		return r.settle(wctx, g, &ledger.Change{ID: e.ID, Transition: ledger.Transition{To: ledger.SendFailed, Reason: "not sent: DingTalk has no such card"}}, "",
			func(s *ledger.AlertGroup) { s.Inflight = nil })
	}
	return g, fmt.Errorf("looking for a card whose send got no answer: %w", err)
}

// retire recalls the messages the group's current one replaced, through
// the recall engine (claimed, audited, each key once).
func (r *Reconciler) retire(ctx context.Context, g ledger.AlertGroup) (ledger.AlertGroup, error) {
	rc, err := r.rec.Recall(ctx, recall.Request{Selection: recall.Selection{IDs: g.Retire}, Actor: "alerts:" + g.Route,
		Note: "alert group " + ShortID(g.ID) + ": superseded or resolved"})
	if err != nil {
		return g, fmt.Errorf("recalling replaced messages: %w", err)
	}
	settled := map[uint64]bool{}
	for _, it := range rc.Items {
		switch it.Outcome {
		case recall.InProgress, recall.NotAttempted:
			continue // another recall holds it, or this one stopped: later
		case recall.Recalled:
			r.metrics.message(g.Route, outcomeRecalled, 1)
		case recall.Failed:
			r.log.Warn("a replaced alert message could not be recalled", zap.String("group", ShortID(g.ID)), zap.Uint64("entry", it.Entry.ID),
				zap.String("reason", it.Reason))
		}
		settled[it.Entry.ID] = true
	}
	return r.update(ctx, g, nil, func(s *ledger.AlertGroup) {
		var keep []uint64
		for _, id := range s.Retire {
			if !settled[id] {
				keep = append(keep, id)
			}
		}
		s.Retire = keep
	})
}

// update changes the group in the ledger as its owner; a group with
// nothing left to do is let go, so any instance may take its next
// notification at once.
func (r *Reconciler) update(ctx context.Context, g ledger.AlertGroup, c *ledger.Change, fn func(*ledger.AlertGroup)) (ledger.AlertGroup, error) {
	return r.led.UpdateAlert(ctx, g.ID, r.cfg.Owner, c, func(s *ledger.AlertGroup) error {
		fn(s)
		if !s.Due() {
			s.Owner = ""
		}
		return nil
	})
}

// settle is update for the outcome of a DingTalk call: a ledger that
// fails is tried again for a few seconds; a key DingTalk gave then waits
// in the spool (its entry is found sent there next time).
func (r *Reconciler) settle(ctx context.Context, g ledger.AlertGroup, c *ledger.Change, key string, fn func(*ledger.AlertGroup)) (ledger.AlertGroup, error) {
	deadline := time.Now().Add(5 * time.Second)
	for attempt := 0; ; attempt++ {
		out, err := r.update(ctx, g, c, fn)
		var te *ledger.TransitionError
		var se *ledger.AlertStateError
		if err == nil || errors.As(err, &te) || errors.As(err, &se) || time.Now().After(deadline) {
			if err != nil && key != "" && r.spool != nil && c != nil {
				e, _ := r.led.Get(ctx, c.ID)
				if e.ID == 0 {
					e = ledger.Entry{ID: c.ID, Chat: g.Chat, Alert: g.ID}
				}
				if serr := r.spool.AddOrHold(ledger.SpoolRecord{Seq: r.spool.NextSeq(), Entry: e, Key: key}); serr != nil {
					r.log.Error("an alert message was sent, but neither the ledger nor the spool took its key", zap.String("process_query_key", key), zap.Error(serr))
				}
			}
			return out, err
		}
		t := time.NewTimer(min(50*time.Millisecond<<min(attempt, 5), time.Second))
		<-t.C
	}
}

func (r *Reconciler) draw(st State, g ledger.AlertGroup) message {
	return draw(st, g, drawing{Locale: r.cfg.Locale, MaxAlerts: r.cfg.Alerts.MaxAlerts, CanSilence: r.cfg.Alerts.AlertmanagerURL != "",
		Now: r.cfg.Now(), Redact: r.cfg.Redact})
}

// style is how a group's message in chat is sent now.
func (r *Reconciler) style(c ledger.Chat) Style {
	if r.cfg.Alerts.Style == StyleCard && r.cardsUsable() && (c.Family == ledger.Group || c.Family == ledger.OTO) {
		return StyleCard
	}
	return StyleMarkdown
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
