package alerts

import (
	"context"
	"errors"
	"fmt"
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
	if w := g.Wake(); !w.IsZero() && !w.After(r.cfg.Now()) {
		// A silence the message shows has ended: drawn again without it.
		now := r.cfg.Now()
		if g, err = r.update(ctx, g, nil, func(s *ledger.AlertGroup) { s.EndSilences(now) }); err != nil {
			return err
		}
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
		return r.update(ctx, g, nil, func(s *ledger.AlertGroup) { shownAs(s, v); s.Note = "unreadable state: " + err.Error() })
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
			shownAs(s, v)
			s.Closed = true
		})
	}
	switch {
	case g.Moved: // routed to other chats now: its last state here, then closed
		switch {
		case current == 0:
			return closeAs(0)
		case onResolved == ResolvedRecall:
			return closeAs(current)
		}
		return r.change(ctx, g, st, current)
	case !firing && g.Closed && !g.Unseen:
		return closeAs(0) // it resolved, and the chat shows that as configured
	case !firing && (current == 0 || g.Closed):
		// It fired and resolved before the chat showed it (its first send
		// failed, or DingTalk took the states slower than they came): the
		// team must still see that it happened. A new message, which with
		// update replaces the resolved one of its last firing.
		if onResolved == ResolvedRecall {
			return closeAs(0)
		}
		replaces := uint64(0)
		if g.Closed && onResolved == ResolvedUpdate {
			replaces = current
		}
		return r.send(ctx, g, st, replaces, outcomeSent)
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

// shownAs records that the chat shows version v of the group (or gave up
// on it); showing the latest version shows every firing state before it.
func shownAs(s *ledger.AlertGroup, v uint64) {
	s.Shown = v
	if v == s.Version {
		s.Unseen = false
	}
}

// closes reports whether the group closes once the chat shows st: it
// resolved, or it was routed elsewhere.
func closes(g ledger.AlertGroup, st State) bool { return !st.Firing() || g.Moved }

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
		v, closed := g.Version, closes(g, st)
		_, err := r.api.UpdateCard(ctx, g.Card, r.draw(st, g).Card)
		switch {
		case err == nil:
			r.metrics.message(g.Route, outcomeUpdated, 1)
			return r.settle(ctx, g, nil, "", func(s *ledger.AlertGroup) { shownAs(s, v); s.Closed, s.Note = closed, "" })
		case dingtalk.CardsRefused(err):
			r.cardsRefused(ctx, err) // supersede it with markdown
		case dingtalk.CardGone(err):
			// DingTalk does not find the card by its id, though the ledger
			// says it is in the chat: a new one, and the old one recalled
			// (a card that is really gone is then found so).
			r.log.Warn("DingTalk no longer finds an alert card by its id; a new card supersedes it", zap.String("group", ShortID(g.ID)), zap.Error(err))
			return r.send(ctx, g, st, current, outcomeSuperseded)
		case dingtalk.Retryable(err) || dingtalk.Ambiguous(err):
			return g, fmt.Errorf("updating the card: %w", err) // an update may be repeated: try again later
		default:
			r.log.Warn("card update refused; superseding the card with a new message", zap.String("group", ShortID(g.ID)), zap.Error(err))
		}
	}
	return r.send(ctx, g, st, current, outcomeSuperseded)
}

// retire recalls the messages the group's current one replaced, through
// the recall engine (claimed, audited, each key once).
func (r *Reconciler) retire(ctx context.Context, g ledger.AlertGroup) (ledger.AlertGroup, error) {
	rc, err := r.rec.Recall(ctx, recall.Request{Selection: recall.Selection{IDs: g.Retire}, Actor: "alerts:" + g.Route,
		Why: "alert_superseded", Note: ShortID(g.ID)})
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
	if g.Short == "" && g.Inflight != nil {
		g.Short = g.Inflight.Short
	}
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
