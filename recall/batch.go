package recall

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// A recall of a batch takes back a broadcast, even one still being sent:
//
//  1. it stops the broadcast first (the cancel of DELETE /v1/broadcasts,
//     one ledger commit: no call of it starts afterwards, on any
//     instance);
//  2. it recalls what the broadcast sent, the messages sent since the
//     plan was made included;
//  3. it waits for the calls that were on the wire when it stopped the
//     broadcast (at most Config.LandingWait), and recalls what they sent
//     as their keys arrive.
//
// So no message of the batch is left in a chat unless its call never got
// an answer (its entry stays pending: unknown, with no key), and a call
// whose answer is merely late is never reported unknown.

// BroadcastStop is what a recall of a batch did to its broadcast.
type BroadcastStop struct {
	Batch string `json:"batch_id"`
	// Stopped says this recall stopped it; otherwise it had ended (or
	// was cancelled) before.
	Stopped bool            `json:"stopped"`
	State   ledger.JobState `json:"state"`
	// NotSent is how many people it will never send to.
	NotSent int `json:"not_sent"`
	// InFlight is how many of its calls were on the wire when it was
	// stopped; Unanswered how many of them still had no answer when the
	// recall stopped waiting (their people may have it, with no key).
	InFlight   int `json:"in_flight"`
	Unanswered int `json:"unanswered"`
}

// recallBatch carries out a plan of batch's messages: it stops the
// broadcast, adds what was sent since the plan, recalls, waits for the
// calls in flight and recalls what they sent. A batch without a broadcast
// (messages sent one by one under one batch id) is recalled as planned.
func (e *Engine) recallBatch(ctx context.Context, req Request, r *Receipt, batch string) error {
	if m := req.Selection.Matching; m != "" { // a broadcast of another text is not this recall's to stop
		if j, err := e.led.GetJob(ctx, batch); err == nil && !strings.Contains(strings.ToLower(j.Excerpt), strings.ToLower(m)) {
			return e.recallPlanned(ctx, r, req.Once, req.Progress)
		}
	}
	j, stopped, err := stopJob(ctx, e.led, e.log, e.cfg.Now, batch, req.Actor, "stopped_by_recall")
	if errors.Is(err, ledger.ErrNotFound) {
		return e.recallPlanned(ctx, r, req.Once, req.Progress)
	}
	if err != nil {
		return fmt.Errorf("stopping the broadcast of batch %s: %w", batch, err)
	}
	stop := &BroadcastStop{Batch: batch, Stopped: stopped, State: j.State, NotSent: j.Cancelled, InFlight: len(j.InFlight())}
	r.Broadcast = stop
	late, err := e.latest(ctx, r, batch, req.Selection.Matching)
	if err != nil {
		return err
	}
	merge(r, late)
	if err := e.recallPlanned(ctx, r, req.Once, req.Progress); err != nil {
		return err
	}
	if stop.InFlight == 0 {
		return nil
	}
	flying := make(map[uint64]bool, stop.InFlight)
	for _, o := range j.InFlight() {
		flying[o.Entry] = true
	}
	defer func() { // calls that got no answer: their entries are still pending
		for _, it := range r.Items {
			if flying[it.Entry.ID] && it.Outcome == Unknown {
				stop.Unanswered++
			}
		}
	}()
	j = e.waitLanded(ctx, batch)
	stop.State, stop.NotSent = j.State, j.Cancelled
	if late, err = e.latest(ctx, r, batch, req.Selection.Matching); err != nil || len(late) == 0 {
		return err
	}
	r2 := &Receipt{Items: late}
	var progress func(done, total, calls int)
	if req.Progress != nil {
		before, total, calls := len(r.Items)-replaced(r, late), len(r.Items)+len(late)-replaced(r, late), r.Calls
		progress = func(done, _, c int) { req.Progress(before+done, total, calls+c) }
	}
	if err := e.recallPlanned(ctx, r2, ledger.Once{}, progress); err != nil {
		return err
	}
	merge(r, r2.Items)
	r.Calls += r2.Calls
	return nil
}

// latest is what the ledger now holds of batch that r does not account
// for as it should: messages not in r (sent since the plan), and items
// that were unknown (their send pending) whose send has settled since.
// Each is classified afresh.
func (e *Engine) latest(ctx context.Context, r *Receipt, batch, matching string) ([]Item, error) {
	es, _, err := e.resolve(ctx, Selection{BatchID: batch, Matching: matching})
	var se *SelectionError
	if errors.As(err, &se) { // nothing of the batch sent yet
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	known := make(map[uint64]Outcome, len(r.Items))
	for _, it := range r.Items {
		known[it.Entry.ID] = it.Outcome
	}
	now := e.cfg.Now()
	var out []Item
	for i := range es {
		o, ok := known[es[i].ID]
		if ok && !(o == Unknown && es[i].State != ledger.Pending) {
			continue
		}
		out = append(out, e.classify(&es[i], now))
	}
	return out, nil
}

// merge puts items in r: in place of r's item of the same entry, or added.
func merge(r *Receipt, items []Item) {
	at := make(map[uint64]int, len(r.Items))
	for i, it := range r.Items {
		at[it.Entry.ID] = i
	}
	for _, it := range items {
		if i, ok := at[it.Entry.ID]; ok {
			it.Reads = r.Items[i].Reads
			r.Items[i] = it
			continue
		}
		r.Items = append(r.Items, it)
	}
}

// replaced is how many of items take the place of one of r's.
func replaced(r *Receipt, items []Item) int {
	in := make(map[uint64]bool, len(r.Items))
	for _, it := range r.Items {
		in[it.Entry.ID] = true
	}
	n := 0
	for _, it := range items {
		if in[it.Entry.ID] {
			n++
		}
	}
	return n
}

// landingPoll is how often a recall of a stopped broadcast looks whether
// the calls it had on the wire have landed (in the ledger, which every
// instance shares: the broadcast may run on another).
const landingPoll = 50 * time.Millisecond

// waitLanded waits until the broadcast of batch has no call in flight, or
// Config.LandingWait has passed, or ctx ends, and returns it as it is then.
func (e *Engine) waitLanded(ctx context.Context, batch string) ledger.Job {
	deadline := time.Now().Add(e.cfg.LandingWait)
	t := time.NewTicker(landingPoll)
	defer t.Stop()
	for {
		j, err := e.led.GetJob(ctx, batch)
		if err == nil && len(j.InFlight()) == 0 || time.Now().After(deadline) {
			if err != nil {
				e.log.Warn("a stopped broadcast could not be read", zap.String("batch", batch), zap.Error(err))
			}
			return j
		}
		select {
		case <-ctx.Done():
			return j
		case <-t.C:
		}
	}
}

// recallPlanned carries out the plan r: its WouldRecall items are claimed
// and recalled, and those past the window marked expired; each outcome
// takes its item's place.
func (e *Engine) recallPlanned(ctx context.Context, r *Receipt, once ledger.Once, report func(done, total, calls int)) error {
	now := e.cfg.Now()
	var candidates []ledger.Entry
	var expired []ledger.Change
	for _, it := range r.Items {
		switch {
		case it.Outcome == WouldRecall:
			candidates = append(candidates, it.Entry)
		case it.Outcome == TooOld && it.Entry.State.Recallable():
			expired = append(expired, ledger.Change{ID: it.Entry.ID, Transition: ledger.Transition{To: ledger.Expired, Reason: "past the recall window", At: now}})
		}
	}
	var progress func(done, calls int)
	if report != nil {
		settled := len(r.Items) - len(candidates) // classified without a call
		report(settled, len(r.Items), 0)
		progress = func(done, calls int) { report(settled+done, len(r.Items), calls) }
	}
	outcomes, calls, err := e.execute(ctx, candidates, now, once, progress)
	if err != nil {
		return err
	}
	if len(expired) > 0 {
		if _, _, err := e.led.TransitionAll(context.WithoutCancel(ctx), expired); err != nil {
			e.log.Warn("marking expired entries", zap.Error(err))
		}
	}
	r.Calls += calls
	for i := range r.Items {
		if it, ok := outcomes[r.Items[i].Entry.ID]; ok && r.Items[i].Outcome == WouldRecall {
			it.Reads = r.Items[i].Reads // asked before the recall
			if it.Reason == reasonLeaseLost {
				it = e.afterLapse(ctx, it)
			}
			r.Items[i] = it
		}
	}
	return nil
}
