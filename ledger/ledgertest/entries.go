package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// testLifecycle is one entry's life: appended pending, sent with its key
// (twice, idempotently), found by key, claimed once, recalled, counted.
func testLifecycle(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	e := mustAppend(t, s, ledger.Entry{Chat: chatA, MsgKey: "sampleText", Excerpt: "hello", Origin: ledger.OriginCommand, Actor: "manager4220"})
	if e.ID == 0 || e.State != ledger.Pending || e.SentAt.IsZero() {
		t.Fatalf("Append = %+v", e)
	}
	if _, err := s.ByKey(ctx, "k1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("ByKey before send: %v, want ErrNotFound", err)
	}
	sent, err := s.Transition(ctx, e.ID, ledger.Transition{To: ledger.Sent, Key: "k1"})
	if err != nil || sent.State != ledger.Sent || sent.ProcessQueryKey != "k1" {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
	// Idempotent: the same transition again is fine and changes nothing.
	if again, err := s.Transition(ctx, e.ID, ledger.Transition{To: ledger.Sent, Key: "k1"}); err != nil || !reflect.DeepEqual(again, sent) {
		t.Errorf("repeat sent = %+v, %v", again, err)
	}
	got, err := s.ByKey(ctx, "k1")
	if err != nil || got.ID != e.ID || got.Excerpt != "hello" || got.Actor != "manager4220" || got.Origin != ledger.OriginCommand {
		t.Errorf("ByKey = %+v, %v", got, err)
	}
	found, miss, err := s.ByKeys(ctx, []string{"k1", "nope", "k1"})
	if err != nil || len(found) != 1 || found[0].ID != e.ID || len(miss) != 1 || miss[0] != "nope" {
		t.Errorf("ByKeys = %v %v %v", found, miss, err)
	}
	claimed, others, missing, err := s.Claim(ctx, []uint64{e.ID, 9999}, by(time.Now()))
	if err != nil || len(claimed) != 1 || len(others) != 0 || len(missing) != 1 || missing[0] != 9999 {
		t.Fatalf("Claim = %v %v %v %v", claimed, others, missing, err)
	}
	// A second claim finds it recalling: not handed out again.
	claimed, others, _, _ = s.Claim(ctx, []uint64{e.ID}, by(time.Now()))
	if len(claimed) != 0 || len(others) != 1 || others[0].State != ledger.Recalling {
		t.Errorf("second Claim = %v %v", claimed, others)
	}
	if _, err := s.Transition(ctx, e.ID, ledger.Transition{To: ledger.Recalled}); err != nil {
		t.Fatal(err)
	}
	claimed, others, _, _ = s.Claim(ctx, []uint64{e.ID}, by(time.Now()))
	if len(claimed) != 0 || others[0].State != ledger.Recalled {
		t.Errorf("Claim of a recalled entry = %v %v", claimed, others)
	}
	c, _ := s.Counts(ctx)
	if c[ledger.Recalled] != 1 || c.Total() != 1 {
		t.Errorf("Counts = %v", c)
	}
}

// testInvalidTransitions: what the state machine forbids is a
// *ledger.TransitionError saying why; a key belongs to one entry; an entry
// without a valid chat is refused.
func testInvalidTransitions(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	p := mustAppend(t, s, ledger.Entry{Chat: chatA, MsgKey: "sampleText"})
	r := mustSend(t, s, chatA, "x")
	_, _, _, _ = s.Claim(ctx, []uint64{r.ID}, by(time.Now()))
	_, _ = s.Transition(ctx, r.ID, ledger.Transition{To: ledger.Recalled})
	tests := []struct {
		id      uint64
		to      ledger.Transition
		wantWhy string
	}{
		{p.ID, ledger.Transition{To: ledger.Recalling}, "its send has not returned a processQueryKey yet"},
		{p.ID, ledger.Transition{To: ledger.Sent}, "a sent entry needs its processQueryKey"},
		{r.ID, ledger.Transition{To: ledger.Sent, Key: "other"}, "it was recalled already"},
		{r.ID, ledger.Transition{To: ledger.RecallFailed, Reason: "x"}, "it was recalled already"},
	}
	for _, tt := range tests {
		_, err := s.Transition(ctx, tt.id, tt.to)
		var te *ledger.TransitionError
		if !errors.As(err, &te) || !strings.Contains(te.Why, tt.wantWhy) {
			t.Errorf("Transition(%d, %+v) = %v, want a TransitionError saying %q", tt.id, tt.to, err, tt.wantWhy)
		}
	}
	a, b := mustAppend(t, s, ledger.Entry{Chat: chatA}), mustAppend(t, s, ledger.Entry{Chat: chatA})
	if _, err := s.Transition(ctx, a.ID, ledger.Transition{To: ledger.Sent, Key: "dup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, b.ID, ledger.Transition{To: ledger.Sent, Key: "dup"}); err == nil || !strings.Contains(err.Error(), "already belongs to entry") {
		t.Errorf("a second entry took key dup: %v", err)
	}
	if _, errs, _ := s.TransitionAll(ctx, []ledger.Change{{ID: b.ID, Transition: ledger.Transition{To: ledger.Sent, Key: "dup"}}}); errs[0] == nil {
		t.Error("TransitionAll let a second entry take key dup")
	}
	if _, err := s.Transition(ctx, 424242, ledger.Transition{To: ledger.Sent, Key: "k"}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := s.Append(ctx, ledger.Entry{Chat: ledger.Chat{Family: "fax"}}); err == nil {
		t.Error("Append accepted an unknown family")
	}
	if _, err := s.Append(ctx, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}}); err == nil {
		t.Error("Append accepted an oto chat without a user")
	}
}

// testTransitionAll: each change of one write succeeds or fails on its
// own.
func testTransitionAll(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	a, b := mustSend(t, s, chatA, "a"), mustSend(t, s, chatA, "b")
	_, _, _, _ = s.Claim(ctx, []uint64{a.ID, b.ID}, by(time.Now()))
	got, errs, err := s.TransitionAll(ctx, []ledger.Change{
		{ID: a.ID, Transition: ledger.Transition{To: ledger.Recalled}},
		{ID: b.ID, Transition: ledger.Transition{To: ledger.RecallFailed, Reason: "SYSTEM_ERROR"}},
		{ID: b.ID, Transition: ledger.Transition{To: ledger.Recalled}}, // invalid after the line above: recall_failed -> recalled
		{ID: 777, Transition: ledger.Transition{To: ledger.Recalled}},
	})
	if err != nil || errs[0] != nil || errs[1] != nil || errs[2] == nil || !errors.Is(errs[3], ledger.ErrNotFound) {
		t.Fatalf("TransitionAll errs = %v, %v", errs, err)
	}
	if got[0].State != ledger.Recalled || got[1].Reason != "SYSTEM_ERROR" {
		t.Errorf("entries = %+v", got)
	}
	if e, _ := s.Get(ctx, b.ID); e.State != ledger.RecallFailed {
		t.Errorf("b is %s", e.State)
	}
}

// testListQueries: a chat's entries newest first, paged, filtered by
// state, time and origin.
func testListQueries(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	var a []ledger.Entry
	for i := range 30 {
		a = append(a, mustSend(t, s, chatA, fmt.Sprint("a", i)))
		mustSend(t, s, chatB, fmt.Sprint("b", i))
	}
	mustSend(t, s, chatU, "u")
	last, err := s.List(ctx, ledger.Query{Chat: chatA, Limit: 5})
	if err != nil || len(last) != 5 || last[0].ID != a[29].ID || last[4].ID != a[25].ID {
		t.Fatalf("last 5 = %v, %v", excerpts(last), err)
	}
	page2, _ := s.List(ctx, ledger.Query{Chat: chatA, Limit: 5, Before: last[4].ID})
	if len(page2) != 5 || page2[0].ID != a[24].ID {
		t.Errorf("page 2 = %v", excerpts(page2))
	}
	_, _, _, _ = s.Claim(ctx, []uint64{a[29].ID, a[28].ID}, by(time.Now()))
	_, _ = s.Transition(ctx, a[29].ID, ledger.Transition{To: ledger.Recalled})
	live, _ := s.List(ctx, ledger.Query{Chat: chatA, Limit: 3, States: []ledger.State{ledger.Sent, ledger.RecallFailed}})
	if len(live) != 3 || live[0].ID != a[27].ID {
		t.Errorf("recallable = %v", excerpts(live))
	}
	since, _ := s.List(ctx, ledger.Query{Chat: chatA, Since: a[20].SentAt})
	if len(since) < 10 || since[len(since)-1].SentAt.Before(a[20].SentAt) {
		t.Errorf("since = %d entries", len(since))
	}
	reply := mustAppend(t, s, ledger.Entry{Chat: chatA, Origin: ledger.OriginCommand, Excerpt: "a reply"})
	if got, _ := s.List(ctx, ledger.Query{Chat: chatA, Limit: 1, SkipOrigin: ledger.OriginCommand}); len(got) != 1 || got[0].ID == reply.ID {
		t.Errorf("SkipOrigin kept the reply: %v", excerpts(got))
	}
	none, err := s.List(ctx, ledger.Query{Chat: ledger.Chat{Family: ledger.Group, ConversationID: "never"}})
	if err != nil || len(none) != 0 {
		t.Errorf("unknown chat = %v, %v", none, err)
	}
	u, _ := s.List(ctx, ledger.Query{Chat: chatU})
	if len(u) != 1 || u[0].Chat != chatU {
		t.Errorf("oto chat = %+v", u)
	}
}

// testRecent: every chat's entries, newest first, paged by ID; a pruned
// entry leaves no hole in a page.
func testRecent(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	if es, err := s.Recent(ctx, 0, 10); err != nil || len(es) != 0 {
		t.Fatalf("empty ledger: %v, %v", es, err)
	}
	var all []ledger.Entry
	for i := range 300 {
		c := []ledger.Chat{chatA, chatB, chatU}[i%3]
		all = append(all, mustSend(t, s, c, fmt.Sprint("m", i)))
	}
	first, err := s.Recent(ctx, 0, 5)
	if err != nil || len(first) != 5 || first[0].ID != all[299].ID || first[4].ID != all[295].ID {
		t.Fatalf("newest 5 = %v, %v", excerpts(first), err)
	}
	// Paging crosses the store's own pages (Redis reads 256 IDs at a time).
	var got []ledger.Entry
	for before := uint64(0); ; {
		page, err := s.Recent(ctx, before, 70)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 70 {
			break
		}
		before = page[len(page)-1].ID
	}
	if len(got) != 300 || got[0].ID != all[299].ID || got[299].ID != all[0].ID {
		t.Fatalf("paged through %d entries", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID >= got[i-1].ID {
			t.Fatalf("not newest first at %d: %d after %d", i, got[i].ID, got[i-1].ID)
		}
	}
	if es, _ := s.Recent(ctx, all[0].ID, 10); len(es) != 0 {
		t.Errorf("before the first entry: %v", excerpts(es))
	}
	// Pruned entries are skipped, not returned empty.
	if _, err := s.Prune(ctx, all[150].SentAt); err != nil {
		t.Fatal(err)
	}
	rest, err := s.Recent(ctx, 0, 1000)
	if err != nil || len(rest) == 0 || len(rest) >= 300 || rest[0].ID != all[299].ID {
		t.Fatalf("after pruning: %d entries, %v", len(rest), err)
	}
	for _, e := range rest {
		if e.ID == 0 || e.SentAt.UnixMilli() < all[150].SentAt.UnixMilli() {
			t.Errorf("after pruning: entry %d sent %v", e.ID, e.SentAt)
		}
	}
}

// testBatchDueInState: a batch's entries, the due self-destructs
// (soonest first, gone once recalled), and the entries in a state that
// needs attention.
func testBatchDueInState(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	now := time.Now()
	for i := range 3 {
		e := mustAppend(t, s, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprint("u", i)}, BatchID: "b1", ExpiresAt: now.Add(time.Duration(i-1) * time.Minute)})
		if _, err := s.Transition(ctx, e.ID, ledger.Transition{To: ledger.Sent, Key: fmt.Sprint("bk", i)}); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(t, s, ledger.Entry{Chat: chatA, BatchID: "b2"})
	b, err := s.Batch(ctx, "b1")
	if err != nil || len(b) != 3 || b[0].ProcessQueryKey != "bk0" {
		t.Fatalf("Batch = %v, %v", b, err)
	}
	due, err := s.Due(ctx, now, 10)
	if err != nil || len(due) != 2 || due[0].ProcessQueryKey != "bk0" {
		t.Fatalf("Due = %v, %v", due, err)
	}
	// Once recalled, an entry is no longer due.
	_, _, _, _ = s.Claim(ctx, []uint64{due[0].ID}, by(now))
	_, _ = s.Transition(ctx, due[0].ID, ledger.Transition{To: ledger.Recalled})
	if due, _ = s.Due(ctx, now, 10); len(due) != 1 {
		t.Errorf("Due after recall = %d entries", len(due))
	}
	p, err := s.InState(ctx, ledger.Pending, 10)
	if err != nil || len(p) != 1 || p[0].BatchID != "b2" {
		t.Errorf("InState(pending) = %v, %v", p, err)
	}
	if _, err := s.InState(ctx, ledger.Sent, 1); err == nil {
		t.Error("InState(sent) should be refused: sent is not tracked")
	}
}

// testPackedKeys: one oto key sent to several users is one entry listed in
// each recipient's chat; when DingTalk reached only some, the others' chats
// no longer list it.
func testPackedKeys(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	users := []string{"ua", "ub", "uc"}
	e := mustAppend(t, s, ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}, Recipients: users, BatchID: "all-hands", Excerpt: "all hands at 3"})
	if e.Chat.UserID != "ua" || !reflect.DeepEqual(e.Recipients, users) || e.Reach() != 3 {
		t.Fatalf("appended %+v", e)
	}
	for _, u := range users {
		got, _ := s.List(ctx, ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: u}})
		if len(got) != 1 || got[0].ID != e.ID {
			t.Errorf("%s's chat lists %v", u, excerpts(got))
		}
	}
	// ub was flow-controlled: DingTalk reached ua and uc only.
	sent, err := s.Transition(ctx, e.ID, ledger.Transition{To: ledger.Sent, Key: "packed-key", Recipients: []string{"ua", "uc"}})
	if err != nil || !reflect.DeepEqual(sent.Recipients, []string{"ua", "uc"}) {
		t.Fatalf("sent %+v, %v", sent, err)
	}
	if got, _ := s.List(ctx, ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: "ub"}}); len(got) != 0 {
		t.Errorf("ub's chat still lists the message: %v", excerpts(got))
	}
	if got, _ := s.List(ctx, ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: "uc"}}); len(got) != 1 {
		t.Errorf("uc's chat: %v", excerpts(got))
	}
	if got, _ := s.ByKey(ctx, "packed-key"); got.Reach() != 2 {
		t.Errorf("ByKey = %+v", got)
	}
	for _, bad := range []ledger.Entry{
		{Chat: chatB, Recipients: []string{"x", "y"}},
		{Chat: ledger.Chat{Family: ledger.OTO}, Recipients: make([]string, 21)},
		{Chat: ledger.Chat{Family: ledger.OTO}, Recipients: []string{"x", ""}},
	} {
		if _, err := s.Append(ctx, bad); err == nil {
			t.Errorf("Append(%+v) accepted", bad)
		}
	}
	if n, err := s.Prune(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("Prune = %d, %v", n, err)
	}
	for _, u := range users {
		if got, _ := s.List(ctx, ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: u}}); len(got) != 0 {
			t.Errorf("pruned, but %s's chat lists %v", u, excerpts(got))
		}
	}
}

// testRecord: a send whose pending entry never reached the ledger is
// written sent with its key in one commit; recording the key again, or
// the same once again, writes nothing.
func testRecord(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	e, first, err := s.Record(ctx, ledger.Once{}, ledger.Entry{Chat: chatA, Excerpt: "from the spool", ExpiresAt: time.Now().Add(time.Hour)}, ledger.Transition{To: ledger.Sent, Key: "rk1"})
	if err != nil || !first || e.State != ledger.Sent || e.ProcessQueryKey != "rk1" || e.ID == 0 {
		t.Fatalf("Record = %+v %v %v", e, first, err)
	}
	if got, err := s.ByKey(ctx, "rk1"); err != nil || got.ID != e.ID {
		t.Errorf("ByKey = %+v %v", got, err)
	}
	if due, _ := s.Due(ctx, time.Now().Add(2*time.Hour), 10); len(due) != 1 {
		t.Errorf("the recorded self-destruct is not due: %+v", due)
	}
	again, first, err := s.Record(ctx, ledger.Once{}, ledger.Entry{Chat: chatA, Excerpt: "from the spool"}, ledger.Transition{To: ledger.Sent, Key: "rk1"})
	if err != nil || first || again.ID != e.ID {
		t.Errorf("the same key again = %+v %v %v", again, first, err)
	}
	once := ledger.Once{NS: "spool", ID: "42", TTL: time.Hour}
	p, first, err := s.Record(ctx, once, ledger.Entry{Chat: chatB, Excerpt: "intent"}, ledger.Transition{})
	if err != nil || !first || p.State != ledger.Pending {
		t.Fatalf("Record of an intent = %+v %v %v", p, first, err)
	}
	if _, first, err := s.Record(ctx, once, ledger.Entry{Chat: chatB, Excerpt: "intent"}, ledger.Transition{}); err != nil || first {
		t.Errorf("the same once again: %v %v", first, err)
	}
	if ok, _ := s.ClaimOnce(ctx, "spool", "42", time.Hour); ok {
		t.Error("Record did not claim its once")
	}
	var te *ledger.TransitionError
	if _, _, err := s.Record(ctx, ledger.Once{}, ledger.Entry{Chat: chatA}, ledger.Transition{To: ledger.Recalled}); !errors.As(err, &te) {
		t.Errorf("a transition a new entry cannot take: %v", err)
	}
	if c, _ := s.Counts(ctx); c[ledger.Sent] != 1 || c[ledger.Pending] != 1 || c.Total() != 2 {
		t.Errorf("counts = %v", c)
	}
	if err := s.Sync(ctx); err != nil {
		t.Error(err)
	}
}
