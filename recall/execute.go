package recall

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// group is one conversation's keys for one recall API.
type group struct {
	family  ledger.Family
	conv    string // openConversationId; "" for oto, which recalls by key alone
	entries []ledger.Entry
}

// chunk groups entries by family and conversation and splits each group
// into calls of at most dingtalk.MaxRecallKeys, so no call is ever one
// DingTalk would reject with invalidParameter.processQueryKeys.overMax.
func chunk(entries []ledger.Entry) []group {
	byConv := map[string]*group{}
	var order []string
	for _, en := range entries {
		g := group{family: en.Chat.Family, conv: en.Chat.ConversationID}
		if g.family == ledger.OTO {
			g.conv = ""
		}
		k := string(g.family) + "\x00" + g.conv
		if byConv[k] == nil {
			byConv[k] = &g
			order = append(order, k)
		}
		byConv[k].entries = append(byConv[k].entries, en)
	}
	var out []group
	for _, k := range order {
		g := byConv[k]
		for i := 0; i < len(g.entries); i += dingtalk.MaxRecallKeys {
			out = append(out, group{family: g.family, conv: g.conv, entries: g.entries[i:min(i+dingtalk.MaxRecallKeys, len(g.entries))]})
		}
	}
	return out
}

// claimStep bounds one Claim, so one transaction stays short.
const claimStep = 1000

// execute claims the candidates, calls DingTalk for them and records each
// outcome in the ledger. It returns the outcome by entry id and the number
// of calls made.
//
// With once set, the first claim records it in the same write; if it was
// recorded before, nothing is done and ErrDuplicate returned.
func (e *Engine) execute(ctx context.Context, candidates []ledger.Entry, now time.Time, once ledger.Once) (map[uint64]Item, int, error) {
	out := make(map[uint64]Item, len(candidates))
	var claimed []ledger.Entry
	for i := 0; i == 0 || i < len(candidates); i += claimStep {
		ids := make([]uint64, 0, claimStep)
		for _, en := range candidates[i:min(i+claimStep, len(candidates))] {
			ids = append(ids, en.ID)
		}
		var c, others []ledger.Entry
		var err error
		if i == 0 && once.ID != "" {
			var first bool
			first, c, others, _, err = e.led.ClaimFor(ctx, once, ids, now)
			if err != nil {
				return nil, 0, fmt.Errorf("recording the request: %w", err)
			}
			if !first {
				return nil, 0, ErrDuplicate
			}
		} else if len(ids) > 0 {
			c, others, _, err = e.led.Claim(ctx, ids, now)
		}
		if err != nil {
			e.log.Error("claiming entries for recall", zap.Error(err))
			for _, id := range ids {
				out[id] = Item{Outcome: NotAttempted, Reason: "the ledger could not be updated"}
			}
			continue
		}
		claimed = append(claimed, c...)
		for i := range others { // changed since they were read
			out[others[i].ID] = e.classify(&others[i], now)
		}
	}
	groups := chunk(claimed)
	var mu sync.Mutex
	calls := 0
	sem := make(chan struct{}, e.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			items, n := e.recallGroup(ctx, g)
			mu.Lock()
			defer mu.Unlock()
			calls += n
			for _, it := range items {
				out[it.Entry.ID] = it
			}
		}()
	}
	wg.Wait()
	return out, calls, nil
}

// recallGroup recalls one chunk, retrying transient failures, and records
// the outcomes. No entry is left recalling: each ends recalled,
// recall_failed, expired, or back to sent when its call was never made.
func (e *Engine) recallGroup(ctx context.Context, g group) ([]Item, int) {
	byKey := make(map[string]ledger.Entry, len(g.entries))
	todo := make([]string, 0, len(g.entries))
	for _, en := range g.entries {
		byKey[en.ProcessQueryKey] = en
		todo = append(todo, en.ProcessQueryKey)
	}
	var items []Item
	settle := func(key string, o Outcome, reason string) {
		items = append(items, Item{Entry: byKey[key], Key: key, Outcome: o, Reason: reason})
	}
	calls := 0
	var lastErr error
	keyReason := map[string]string{} // a key's last per-key failure, while it is retried
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			if attempt >= e.cfg.MaxAttempts || e.wait(ctx, attempt, lastErr) != nil {
				break
			}
		} else if ctx.Err() != nil {
			break
		}
		res, err := e.call(ctx, g, todo)
		calls++
		if err != nil {
			lastErr = err
			if dingtalk.Retryable(err) && ctx.Err() == nil {
				e.logRetry(g, attempt, err)
				continue
			}
			for _, k := range todo {
				settle(k, Failed, failReason(err))
			}
			todo = nil
			break
		}
		var retry []string
		asked := make(map[string]bool, len(todo))
		for _, k := range todo {
			asked[k] = true
		}
		for _, k := range res.Recalled {
			if asked[k] { // only keys this call carried, each once
				settle(k, Recalled, "")
				delete(asked, k)
			}
		}
		lastErr = nil
		for _, k := range todo {
			if !asked[k] {
				continue
			}
			reason, ok := res.Failed[k]
			switch {
			case !ok:
				reason = "no result for this key in DingTalk's answer"
				settle(k, Failed, reason)
			case dingtalk.RetryableReason(reason):
				retry = append(retry, k)
				keyReason[k] = reason
			case reason == "EXPIRED" || e.cfg.Now().Sub(byKey[k].SentAt) > e.cfg.Window:
				settle(k, TooOld, reason)
			default:
				settle(k, Failed, reason)
			}
		}
		todo = retry
	}
	// Whatever is left was never recalled: its last call failed
	// transiently, or the context ended before it could be made.
	for _, k := range todo {
		switch {
		case lastErr != nil: // the last call failed as a whole
			settle(k, Failed, failReason(lastErr))
		case keyReason[k] != "": // the last answer failed this key
			settle(k, Failed, keyReason[k])
		default:
			settle(k, NotAttempted, "cancelled before the call")
		}
	}
	e.record(ctx, items)
	return items, calls
}

func (e *Engine) call(ctx context.Context, g group, keys []string) (dingtalk.RecallResult, error) {
	switch g.family {
	case ledger.Private:
		return e.api.RecallPrivate(ctx, g.conv, keys)
	case ledger.Group:
		return e.api.RecallGroup(ctx, g.conv, keys)
	default:
		return e.api.RecallOTO(ctx, keys)
	}
}

// wait sleeps the capped, jittered backoff before try attempt, or returns
// the context's error. A QPS refusal waits at least DingTalk's 1 s window.
func (e *Engine) wait(ctx context.Context, attempt int, lastErr error) error {
	d := min(e.cfg.BackoffMax, e.cfg.BackoffBase<<min(attempt-1, 16))
	d = d/2 + rand.N(d/2+1) // jitter in [d/2, d]
	if dingtalk.IsQPS(lastErr) {
		d = max(d, min(time.Second, e.cfg.BackoffMax))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) logRetry(g group, attempt int, err error) {
	if attempt == 0 {
		e.log.Info("recall call failed; retrying", zap.String("family", string(g.family)), zap.String("conversation", g.conv), zap.Error(err))
	}
}

// record writes the outcomes to the ledger in one write.
func (e *Engine) record(ctx context.Context, items []Item) {
	changes := make([]ledger.Change, 0, len(items))
	now := e.cfg.Now()
	for _, it := range items {
		t := ledger.Transition{At: now, Reason: it.Reason}
		switch it.Outcome {
		case Recalled:
			t.To, t.Reason = ledger.Recalled, ""
		case TooOld:
			t.To = ledger.Expired
		case NotAttempted:
			t.To, t.Reason = ledger.Sent, ""
		default:
			t.To = ledger.RecallFailed
		}
		changes = append(changes, ledger.Change{ID: it.Entry.ID, Transition: t})
	}
	_, errs, err := e.led.TransitionAll(context.WithoutCancel(ctx), changes)
	if err == nil {
		err = errors.Join(errs...)
	}
	if err != nil {
		e.log.Error("recording recall outcomes", zap.Error(err))
	}
}
