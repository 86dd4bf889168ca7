package recall

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
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

// claimStep bounds one Claim, so one transaction stays short; the first
// is firstClaimStep, the calls a paced API lets out back to back at
// DingTalk's 20/s (half a window of 20 keys each), so that the first call
// waits for a transaction of 200 entries, not of 1,000 (22 ms -> about 5
// before a 4,000-key recall's first call, on a quiet disk).
const (
	claimStep      = 1000
	firstClaimStep = 200
)

// claimant is this engine claiming at now.
func (e *Engine) claimant(now time.Time) ledger.Claimant {
	return ledger.Claimant{Owner: e.cfg.Owner, At: now, LeaseTTL: e.cfg.LeaseTTL}
}

// execute claims the candidates, calls DingTalk for them and records each
// outcome in the ledger. It returns the outcome by entry id and the number
// of calls made.
//
// The calls are planned first (chunk: one per conversation and 20 keys),
// then claimed a step of whole calls at a time; the first step's calls go
// out while the next steps are claimed, so a recall of thousands starts
// calling after one short transaction, not after all of them.
//
// With once set, the first claim records it in the same write; if it was
// recorded before, nothing is done and ErrDuplicate returned.
func (e *Engine) execute(ctx context.Context, candidates []ledger.Entry, now time.Time, once ledger.Once, progress func(done, calls int)) (map[uint64]Item, int, error) {
	var mu sync.Mutex // out, while claims and calls overlap
	out := make(map[uint64]Item, len(candidates))
	by := e.claimant(now)
	steps := claimSteps(chunk(candidates))
	claim := func(i int) ([]group, error) {
		st := steps[i]
		var ids []uint64
		for _, g := range st {
			for _, en := range g.entries {
				ids = append(ids, en.ID)
			}
		}
		var c, others []ledger.Entry
		var err error
		if i == 0 && once.ID != "" {
			var first bool
			first, c, others, _, err = e.led.ClaimFor(ctx, once, ids, by)
			if err != nil {
				return nil, fmt.Errorf("recording the request: %w", err)
			}
			if !first {
				return nil, ErrDuplicate
			}
		} else if len(ids) > 0 {
			c, others, _, err = e.led.Claim(ctx, ids, by)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.log.Error("claiming entries for recall", zap.Error(err))
			for _, id := range ids {
				out[id] = Item{Outcome: NotAttempted, Reason: "the ledger could not be updated"}
			}
			return nil, nil
		}
		if len(c) > 0 {
			e.lease.renewed(time.Now()) // the claim wrote the lease
		}
		for i := range others { // changed since they were read
			out[others[i].ID] = e.classify(&others[i], now)
		}
		return claimedGroups(st, c), nil
	}
	if len(steps) == 0 {
		if once.ID != "" { // nothing to recall: the request is recorded all the same
			first, _, _, _, err := e.led.ClaimFor(ctx, once, nil, by)
			if err != nil {
				return nil, 0, fmt.Errorf("recording the request: %w", err)
			}
			if !first {
				return nil, 0, ErrDuplicate
			}
		}
		return out, 0, nil
	}
	first, err := claim(0)
	if err != nil {
		return nil, 0, err
	}
	batches := make(chan []group, 1)
	batches <- first
	go func() {
		defer close(batches)
		for i := 1; i < len(steps) && ctx.Err() == nil; i++ {
			gs, _ := claim(i)
			batches <- gs
		}
	}()
	report := func(done, calls int) {
		if progress != nil {
			mu.Lock()
			settled := len(out)
			mu.Unlock()
			progress(settled+done, calls)
		}
	}
	report(0, 0) // what needs no call
	items, calls := e.recallClaimed(ctx, batches, false, report)
	mu.Lock()
	defer mu.Unlock()
	for id, it := range items {
		out[id] = it
	}
	return out, calls, nil
}

// claimSteps cuts the planned calls into claim steps of whole calls, about
// claimStep entries each (the first, firstClaimStep), so that one
// transaction stays short.
func claimSteps(groups []group) [][]group {
	var steps [][]group
	n := 0
	for _, g := range groups {
		limit := claimStep
		if len(steps) == 1 {
			limit = firstClaimStep
		}
		if len(steps) == 0 || n+len(g.entries) > limit {
			steps = append(steps, nil)
			n = 0
		}
		steps[len(steps)-1] = append(steps[len(steps)-1], g)
		n += len(g.entries)
	}
	return steps
}

// claimedGroups is a step's calls narrowed to the entries the claim took,
// as the claim returned them.
func claimedGroups(step []group, claimed []ledger.Entry) []group {
	byID := make(map[uint64]ledger.Entry, len(claimed))
	for _, en := range claimed {
		byID[en.ID] = en
	}
	var out []group
	for _, g := range step {
		ng := group{family: g.family, conv: g.conv}
		for _, en := range g.entries {
			if c, ok := byID[en.ID]; ok {
				ng.entries = append(ng.entries, c)
			}
		}
		if len(ng.entries) > 0 {
			out = append(out, ng)
		}
	}
	return out
}

// recallClaimed recalls entries this engine holds claims on, a few
// conversations' chunks at a time, while its lease is kept alive, as the
// batches of calls come in (until the channel closes). resumed says the
// claims were taken over from an engine that stopped: its last call for
// them may have taken effect unheard.
//
// progress, if set, hears after each conversation's chunk how many entries
// have their outcome and how many calls were made, in total so far.
func (e *Engine) recallClaimed(ctx context.Context, batches <-chan []group, resumed bool, progress func(done, calls int)) (map[uint64]Item, int) {
	out := map[uint64]Item{}
	release, leaseValid := e.lease.hold()
	defer release()
	ctx = dingtalk.WithGuard(ctx, func() error {
		if !leaseValid(time.Now()) {
			return errLeaseLost
		}
		return nil
	})
	var mu sync.Mutex
	calls := 0
	gate := newGate(e.api, e.cfg.Concurrency, recallAPIs...)
	var wg sync.WaitGroup
	for batch := range batches {
		for _, g := range batch {
			_ = gate.Acquire(context.Background()) // never fails: every chunk gets its outcome
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer gate.Release()
				items, n := e.recallGroup(ctx, g, resumed, leaseValid)
				mu.Lock()
				defer mu.Unlock()
				calls += n
				for _, it := range items {
					out[it.Entry.ID] = it
				}
				if progress != nil {
					progress(len(out), calls)
				}
			}()
		}
	}
	wg.Wait()
	return out, calls
}

// oneBatch is the calls for claimed entries, as a closed channel.
func oneBatch(claimed []ledger.Entry) <-chan []group {
	ch := make(chan []group, 1)
	if len(claimed) > 0 {
		ch <- chunk(claimed)
	}
	close(ch)
	return ch
}

// ReasonUnconfirmed starts the ledger reason of a recall whose call got no
// answer and whose outcome DingTalk could not be asked about: the message
// may be gone. A later recall that hears "already recalled" for it knows
// the earlier call did it.
const ReasonUnconfirmed = "unconfirmed"

// mayHaveApplied reports whether an earlier call for en may have recalled
// it without our hearing of it: its claim was taken over from an engine
// that stopped mid-call, or an earlier recall ended unconfirmed.
func mayHaveApplied(en ledger.Entry, resumed bool) bool {
	return resumed || strings.HasPrefix(en.Reason, ReasonUnconfirmed)
}

// recallGroup recalls one chunk, retrying what is transient, and records
// the outcomes. Every outcome is what DingTalk said or, where its answer
// was missing or in words we cannot be sure of, what its query APIs say:
// after a call that may have taken effect unheard (a timeout, a 5xx),
// "already recalled" means this recall did it. Where nobody can tell, the
// entry ends recall_failed with a reason starting ReasonUnconfirmed. No
// entry is left recalling.
func (e *Engine) recallGroup(ctx context.Context, g group, resumed bool, leaseValid func(time.Time) bool) ([]Item, int) {
	byKey := make(map[string]ledger.Entry, len(g.entries))
	todo := make([]string, 0, len(g.entries))
	maybe := map[string]bool{} // a call may have recalled it unheard
	for _, en := range g.entries {
		byKey[en.ProcessQueryKey] = en
		todo = append(todo, en.ProcessQueryKey)
		maybe[en.ProcessQueryKey] = mayHaveApplied(en, resumed)
	}
	var items []Item
	settle := func(key string, o Outcome, reason string) {
		items = append(items, Item{Entry: byKey[key], Key: key, Outcome: o, Reason: reason,
			Transient: o == Failed && strings.HasPrefix(reason, ReasonUnconfirmed)})
	}
	transient := func(key, reason string) { // a failure that may pass
		settle(key, Failed, reason)
		items[len(items)-1].Transient = true
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
		if !leaseValid(time.Now()) {
			lastErr = errLeaseLost
			break
		}
		res, n, unheard, err := e.callSplitting(ctx, g, todo)
		calls += n
		for _, k := range unheard {
			maybe[k] = true
		}
		if err != nil {
			lastErr = err
			if dingtalk.Ambiguous(err) {
				for _, k := range todo {
					maybe[k] = true
				}
			}
			if dingtalk.Retryable(err) && ctx.Err() == nil {
				e.logRetry(g, attempt, err)
				continue
			}
			break
		}
		lastErr = nil
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
		var retry []string
		for _, k := range todo {
			if !asked[k] {
				continue
			}
			reason, ok := res.Failed[k]
			switch kind := dingtalk.ReasonKind(reason); {
			case ok && kind == dingtalk.ReasonTransient:
				retry = append(retry, k)
				keyReason[k] = reason
			case ok && kind == dingtalk.ReasonAlreadyRecalled:
				settle(k, e.alreadyRecalled(maybe[k]), "")
			case ok && kind == dingtalk.ReasonExpired, e.cfg.Now().Sub(byKey[k].SentAt) > e.cfg.Window:
				settle(k, TooOld, reason)
			default: // a reason we cannot read, or no answer for the key: ask
				if !ok {
					reason = "no result for this key in DingTalk's answer"
				}
				o, why := e.verify(ctx, g, byKey[k], reason, maybe[k])
				settle(k, o, why)
			}
		}
		todo = retry
	}
	// Whatever is left was not recalled as far as we heard: its last call
	// failed, or the context ended or the lease lapsed before a call.
	for _, k := range todo {
		switch {
		case maybe[k] && ctx.Err() != nil: // unknown, and no time to ask
			o, why := e.unverified(failReason(lastErr), true)
			settle(k, o, why)
		case maybe[k]:
			o, why := e.verify(ctx, g, byKey[k], failReason(lastErr), true)
			if o == Failed && dingtalk.Retryable(lastErr) {
				transient(k, why) // still shown, after failures that may pass
			} else {
				settle(k, o, why)
			}
		case lastErr != nil && lastErr != errLeaseLost && !dingtalk.NotSent(lastErr):
			if dingtalk.Retryable(lastErr) {
				transient(k, failReason(lastErr))
			} else {
				settle(k, Failed, failReason(lastErr))
			}
		case keyReason[k] != "": // the last answer failed this key, transiently
			transient(k, keyReason[k])
		case lastErr == errLeaseLost:
			settle(k, NotAttempted, reasonLeaseLost)
		case lastErr != nil:
			settle(k, NotAttempted, "not sent to DingTalk: "+failReason(lastErr))
		default:
			settle(k, NotAttempted, "cancelled before the call")
		}
	}
	e.record(ctx, items)
	return items, calls
}

// reasonLeaseLost is the reason of an entry a recall gave up because its
// lease lapsed; Execute then reads what became of it.
const reasonLeaseLost = "this bot could not renew its claim on the message"

// errLeaseLost stops a recall whose engine could not renew its lease:
// another engine may take its claims over, and two must never call for
// the same key.
var errLeaseLost = errors.New("the claim lease could not be renewed")

// alreadyRecalled is the outcome of DingTalk saying a key was recalled
// before: this recall's doing if an earlier call of it may have applied.
func (e *Engine) alreadyRecalled(maybe bool) Outcome {
	if maybe {
		return Recalled
	}
	return AlreadyRecalled
}

// verify asks DingTalk what became of a message whose recall failed for a
// reason we cannot be sure of (or got no answer). RECALLED means it is gone
// (this recall's doing if an earlier call may have applied); SUCCESS means
// it is still shown, and the failure stands. A young message DingTalk has
// no query data for yet is asked about again (askStatus). If DingTalk
// cannot be asked, an outcome that may have applied is recorded as
// unconfirmed.
func (e *Engine) verify(ctx context.Context, g group, en ledger.Entry, reason string, maybe bool) (Outcome, string) {
	if e.status == nil {
		return e.unverified(reason, maybe)
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.VerifyTimeout)
	defer cancel()
	st, err := e.askStatus(qctx, g, en)
	var ae *dingtalk.APIError
	switch {
	case err == nil && st.SendStatus == dingtalk.StatusRecalled:
		return e.alreadyRecalled(maybe), ""
	case err == nil:
		return Failed, reason
	case errors.As(err, &ae) && ae.Code == codeQueryNotReady && e.cfg.Now().Sub(en.SentAt) > e.cfg.Window/2:
		return TooOld, reason
	}
	e.log.Warn("recall outcome could not be checked with DingTalk", zap.String("reason", reason), zap.Error(err))
	return e.unverified(reason, maybe)
}

func (e *Engine) unverified(reason string, maybe bool) (Outcome, string) {
	if maybe {
		return Failed, ReasonUnconfirmed + ": " + reason
	}
	return Failed, reason
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

// codeInvalidKey is DingTalk's refusal of a whole recall call because one
// of its keys is not a key at all.
const codeInvalidKey = "invalid.processQueryKey"

// callSplitting is call, except that a call refused whole because one of
// its keys is malformed is split in halves until each bad key is alone:
// one bad key (resolved by hand, imported, damaged) must not keep the
// others in its call from being recalled. A bad key alone fails with
// DingTalk's code. Keys of a part that failed otherwise get no result, so
// that recallGroup asks DingTalk what became of them; unheard lists those
// whose call may have taken effect without an answer. The error is the
// first call's, when it was not split.
func (e *Engine) callSplitting(ctx context.Context, g group, keys []string) (res dingtalk.RecallResult, calls int, unheard []string, err error) {
	res, err = e.call(ctx, g, keys)
	var ae *dingtalk.APIError
	if err == nil || !errors.As(err, &ae) || ae.Code != codeInvalidKey {
		return res, 1, nil, err
	}
	if len(keys) == 1 {
		return dingtalk.RecallResult{Failed: map[string]string{keys[0]: codeInvalidKey}}, 1, nil, nil
	}
	e.log.Warn("DingTalk refused a recall call for a malformed key; splitting it to find the key",
		zap.String("conversation", g.conv), zap.Int("keys", len(keys)))
	res, calls = dingtalk.RecallResult{Failed: map[string]string{}}, 1
	mid := len(keys) / 2
	for _, part := range [][]string{keys[:mid], keys[mid:]} {
		r, n, u, err := e.callSplitting(ctx, g, part)
		calls += n
		unheard = append(unheard, u...)
		if err != nil {
			if dingtalk.Ambiguous(err) {
				unheard = append(unheard, part...)
			}
			continue
		}
		res.Recalled = append(res.Recalled, r.Recalled...)
		for k, v := range r.Failed {
			res.Failed[k] = v
		}
	}
	return res, calls, unheard, nil
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

// record writes the outcomes to the ledger in one write, as the claims'
// owner: a claim another engine took over is left to it.
func (e *Engine) record(ctx context.Context, items []Item) {
	changes := make([]ledger.Change, 0, len(items))
	now := e.cfg.Now()
	for _, it := range items {
		t := ledger.Transition{At: now, Reason: it.Reason, Owner: e.cfg.Owner}
		switch it.Outcome {
		case Recalled:
			t.To, t.Reason = ledger.Recalled, ""
		case AlreadyRecalled: // gone from the chat, by another hand
			t.To, t.Reason = ledger.Recalled, "recalled before, not by recallbot"
		case TooOld:
			t.To = ledger.Expired
		case NotAttempted:
			t.To, t.Reason = ledger.Sent, ""
		default:
			t.To = ledger.RecallFailed
		}
		changes = append(changes, ledger.Change{ID: it.Entry.ID, Transition: t})
	}
	if len(changes) == 0 {
		return
	}
	_, errs, err := e.led.TransitionAll(context.WithoutCancel(ctx), changes)
	var real []error
	for i, ierr := range errs {
		var te *ledger.TransitionError
		if ierr != nil && errors.As(ierr, &te) && i < len(items) && items[i].Reason == reasonLeaseLost {
			continue // another instance took the claim over: its outcome is its own to record
		}
		real = append(real, ierr)
	}
	if err == nil {
		err = errors.Join(real...)
	}
	if err != nil {
		e.log.Error("recording recall outcomes", zap.Error(err))
	}
}
