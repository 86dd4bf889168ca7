package ledger

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// stores runs fn against every store: the embedded one always, Redis when a
// redis-server is available (see redis_test.go).
func stores(t *testing.T, fn func(t *testing.T, s Store)) {
	t.Run("bolt", func(t *testing.T) {
		s, err := Open(filepath.Join(t.TempDir(), "ledger.db"), BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		fn(t, s)
		if err := s.Check(context.Background()); err != nil {
			t.Errorf("Check after the test: %v", err)
		}
	})
	t.Run("redis", func(t *testing.T) {
		s := openTestRedis(t)
		fn(t, s)
		if err := s.Check(context.Background()); err != nil {
			t.Errorf("Check after the test: %v", err)
		}
	})
}

var (
	chatA = Chat{Family: Private, ConversationID: "cidA"}
	chatB = Chat{Family: Group, ConversationID: "cidB"}
	chatU = Chat{Family: OTO, UserID: "user1"}
)

// by is a claimant for tests: one owner with a long lease.
func by(at time.Time) Claimant { return Claimant{Owner: "test-owner", At: at, LeaseTTL: time.Hour} }

func mustAppend(t testing.TB, s Store, e Entry) Entry {
	t.Helper()
	out, err := s.Append(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustSend(t testing.TB, s Store, c Chat, text string) Entry {
	t.Helper()
	e := mustAppend(t, s, Entry{Chat: c, MsgKey: "sampleText", Excerpt: text})
	out, err := s.Transition(context.Background(), e.ID, Transition{To: Sent, Key: fmt.Sprintf("key-%s-%d", c.Key(), e.ID)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLifecycle(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		e := mustAppend(t, s, Entry{Chat: chatA, MsgKey: "sampleText", Excerpt: "hello", Origin: OriginCommand, Actor: "manager4220"})
		if e.ID == 0 || e.State != Pending || e.SentAt.IsZero() {
			t.Fatalf("Append = %+v", e)
		}
		if _, err := s.ByKey(ctx, "k1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ByKey before send: %v, want ErrNotFound", err)
		}
		sent, err := s.Transition(ctx, e.ID, Transition{To: Sent, Key: "k1"})
		if err != nil || sent.State != Sent || sent.ProcessQueryKey != "k1" {
			t.Fatalf("sent = %+v, %v", sent, err)
		}
		// Idempotent: the same transition again is fine and changes nothing.
		if again, err := s.Transition(ctx, e.ID, Transition{To: Sent, Key: "k1"}); err != nil || !reflect.DeepEqual(again, sent) {
			t.Errorf("repeat sent = %+v, %v", again, err)
		}
		got, err := s.ByKey(ctx, "k1")
		if err != nil || got.ID != e.ID || got.Excerpt != "hello" || got.Actor != "manager4220" || got.Origin != OriginCommand {
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
		if len(claimed) != 0 || len(others) != 1 || others[0].State != Recalling {
			t.Errorf("second Claim = %v %v", claimed, others)
		}
		if _, err := s.Transition(ctx, e.ID, Transition{To: Recalled}); err != nil {
			t.Fatal(err)
		}
		claimed, others, _, _ = s.Claim(ctx, []uint64{e.ID}, by(time.Now()))
		if len(claimed) != 0 || others[0].State != Recalled {
			t.Errorf("Claim of a recalled entry = %v %v", claimed, others)
		}
		c, _ := s.Counts(ctx)
		if c[Recalled] != 1 || c.Total() != 1 {
			t.Errorf("Counts = %v", c)
		}
	})
}

func TestInvalidTransitions(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		p := mustAppend(t, s, Entry{Chat: chatA, MsgKey: "sampleText"})
		r := mustSend(t, s, chatA, "x")
		_, _, _, _ = s.Claim(ctx, []uint64{r.ID}, by(time.Now()))
		_, _ = s.Transition(ctx, r.ID, Transition{To: Recalled})
		tests := []struct {
			id      uint64
			to      Transition
			wantWhy string
		}{
			{p.ID, Transition{To: Recalling}, "its send has not returned a processQueryKey yet"},
			{p.ID, Transition{To: Sent}, "a sent entry needs its processQueryKey"},
			{r.ID, Transition{To: Sent, Key: "other"}, "it was recalled already"},
			{r.ID, Transition{To: RecallFailed, Reason: "x"}, "it was recalled already"},
		}
		for _, tt := range tests {
			_, err := s.Transition(ctx, tt.id, tt.to)
			var te *TransitionError
			if !errors.As(err, &te) || !strings.Contains(te.Why, tt.wantWhy) {
				t.Errorf("Transition(%d, %+v) = %v, want a TransitionError saying %q", tt.id, tt.to, err, tt.wantWhy)
			}
		}
		a, b := mustAppend(t, s, Entry{Chat: chatA}), mustAppend(t, s, Entry{Chat: chatA})
		if _, err := s.Transition(ctx, a.ID, Transition{To: Sent, Key: "dup"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Transition(ctx, b.ID, Transition{To: Sent, Key: "dup"}); err == nil || !strings.Contains(err.Error(), "already belongs to entry") {
			t.Errorf("a second entry took key dup: %v", err)
		}
		if _, errs, _ := s.TransitionAll(ctx, []Change{{ID: b.ID, Transition: Transition{To: Sent, Key: "dup"}}}); errs[0] == nil {
			t.Error("TransitionAll let a second entry take key dup")
		}
		if _, err := s.Transition(ctx, 424242, Transition{To: Sent, Key: "k"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		if _, err := s.Append(ctx, Entry{Chat: Chat{Family: "fax"}}); err == nil {
			t.Error("Append accepted an unknown family")
		}
		if _, err := s.Append(ctx, Entry{Chat: Chat{Family: OTO}}); err == nil {
			t.Error("Append accepted an oto chat without a user")
		}
	})
}

func TestTransitionAll(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		a, b := mustSend(t, s, chatA, "a"), mustSend(t, s, chatA, "b")
		_, _, _, _ = s.Claim(ctx, []uint64{a.ID, b.ID}, by(time.Now()))
		got, errs, err := s.TransitionAll(ctx, []Change{
			{a.ID, Transition{To: Recalled}},
			{b.ID, Transition{To: RecallFailed, Reason: "SYSTEM_ERROR"}},
			{b.ID, Transition{To: Recalled}}, // invalid after the line above: recall_failed -> recalled
			{777, Transition{To: Recalled}},
		})
		if err != nil || errs[0] != nil || errs[1] != nil || errs[2] == nil || !errors.Is(errs[3], ErrNotFound) {
			t.Fatalf("TransitionAll errs = %v, %v", errs, err)
		}
		if got[0].State != Recalled || got[1].Reason != "SYSTEM_ERROR" {
			t.Errorf("entries = %+v", got)
		}
		if e, _ := s.Get(ctx, b.ID); e.State != RecallFailed {
			t.Errorf("b is %s", e.State)
		}
	})
}

func TestListQueries(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		var a []Entry
		for i := range 30 {
			a = append(a, mustSend(t, s, chatA, fmt.Sprint("a", i)))
			mustSend(t, s, chatB, fmt.Sprint("b", i))
		}
		mustSend(t, s, chatU, "u")
		last, err := s.List(ctx, Query{Chat: chatA, Limit: 5})
		if err != nil || len(last) != 5 || last[0].ID != a[29].ID || last[4].ID != a[25].ID {
			t.Fatalf("last 5 = %v, %v", excerpts(last), err)
		}
		page2, _ := s.List(ctx, Query{Chat: chatA, Limit: 5, Before: last[4].ID})
		if len(page2) != 5 || page2[0].ID != a[24].ID {
			t.Errorf("page 2 = %v", excerpts(page2))
		}
		_, _, _, _ = s.Claim(ctx, []uint64{a[29].ID, a[28].ID}, by(time.Now()))
		_, _ = s.Transition(ctx, a[29].ID, Transition{To: Recalled})
		live, _ := s.List(ctx, Query{Chat: chatA, Limit: 3, States: []State{Sent, RecallFailed}})
		if len(live) != 3 || live[0].ID != a[27].ID {
			t.Errorf("recallable = %v", excerpts(live))
		}
		since, _ := s.List(ctx, Query{Chat: chatA, Since: a[20].SentAt})
		if len(since) < 10 || since[len(since)-1].SentAt.Before(a[20].SentAt) {
			t.Errorf("since = %d entries", len(since))
		}
		reply := mustAppend(t, s, Entry{Chat: chatA, Origin: OriginCommand, Excerpt: "a reply"})
		if got, _ := s.List(ctx, Query{Chat: chatA, Limit: 1, SkipOrigin: OriginCommand}); len(got) != 1 || got[0].ID == reply.ID {
			t.Errorf("SkipOrigin kept the reply: %v", excerpts(got))
		}
		none, err := s.List(ctx, Query{Chat: Chat{Family: Group, ConversationID: "never"}})
		if err != nil || len(none) != 0 {
			t.Errorf("unknown chat = %v, %v", none, err)
		}
		u, _ := s.List(ctx, Query{Chat: chatU})
		if len(u) != 1 || u[0].Chat != chatU {
			t.Errorf("oto chat = %+v", u)
		}
	})
}

// TestRecent: every chat's entries, newest first, paged by ID; a pruned
// entry leaves no hole in a page.
func TestRecent(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		if es, err := s.Recent(ctx, 0, 10); err != nil || len(es) != 0 {
			t.Fatalf("empty ledger: %v, %v", es, err)
		}
		var all []Entry
		for i := range 300 {
			c := []Chat{chatA, chatB, chatU}[i%3]
			all = append(all, mustSend(t, s, c, fmt.Sprint("m", i)))
		}
		first, err := s.Recent(ctx, 0, 5)
		if err != nil || len(first) != 5 || first[0].ID != all[299].ID || first[4].ID != all[295].ID {
			t.Fatalf("newest 5 = %v, %v", excerpts(first), err)
		}
		// Paging crosses the store's own pages (Redis reads 256 IDs at a time).
		var got []Entry
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
	})
}

func excerpts(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Excerpt)
	}
	return out
}

func TestBatchDueInState(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		now := time.Now()
		for i := range 3 {
			e := mustAppend(t, s, Entry{Chat: Chat{Family: OTO, UserID: fmt.Sprint("u", i)}, BatchID: "b1", ExpiresAt: now.Add(time.Duration(i-1) * time.Minute)})
			if _, err := s.Transition(ctx, e.ID, Transition{To: Sent, Key: fmt.Sprint("bk", i)}); err != nil {
				t.Fatal(err)
			}
		}
		mustAppend(t, s, Entry{Chat: chatA, BatchID: "b2"})
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
		_, _ = s.Transition(ctx, due[0].ID, Transition{To: Recalled})
		if due, _ = s.Due(ctx, now, 10); len(due) != 1 {
			t.Errorf("Due after recall = %d entries", len(due))
		}
		p, err := s.InState(ctx, Pending, 10)
		if err != nil || len(p) != 1 || p[0].BatchID != "b2" {
			t.Errorf("InState(pending) = %v, %v", p, err)
		}
		if _, err := s.InState(ctx, Sent, 1); err == nil {
			t.Error("InState(sent) should be refused: sent is not tracked")
		}
	})
}

func TestClaimOnceAndTemp(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		first, err := s.ClaimOnce(ctx, "cmd", "msg1", time.Minute)
		again, _ := s.ClaimOnce(ctx, "cmd", "msg1", time.Minute)
		other, _ := s.ClaimOnce(ctx, "cmd", "msg2", time.Minute)
		if err != nil || !first || again || !other {
			t.Errorf("ClaimOnce = %v %v %v %v", first, again, other, err)
		}
		if err := s.PutTemp(ctx, "confirm", "ABC", []byte("payload"), time.Minute); err != nil {
			t.Fatal(err)
		}
		v, ok, err := s.TakeTemp(ctx, "confirm", "ABC")
		if err != nil || !ok || string(v) != "payload" {
			t.Errorf("TakeTemp = %q %v %v", v, ok, err)
		}
		if _, ok, _ := s.TakeTemp(ctx, "confirm", "ABC"); ok {
			t.Error("TakeTemp returned a value twice")
		}
	})
}

func TestTempExpires(t *testing.T) {
	now := time.Now()
	s, err := Open(filepath.Join(t.TempDir(), "ledger.db"), BoltOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_ = s.PutTemp(ctx, "confirm", "OLD", []byte("x"), time.Minute)
	first, _ := s.ClaimOnce(ctx, "cmd", "m", time.Minute)
	now = now.Add(2 * time.Minute)
	if _, ok, _ := s.TakeTemp(ctx, "confirm", "OLD"); ok {
		t.Error("TakeTemp returned an expired value")
	}
	if again, _ := s.ClaimOnce(ctx, "cmd", "m", time.Minute); !first || !again {
		t.Errorf("ClaimOnce after the TTL = %v, want a fresh claim", again)
	}
}

func TestAuditTrail(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		for i := range 5 {
			if _, err := s.AppendAudit(ctx, AuditRecord{Actor: "manager4220", Action: "recall", Scope: fmt.Sprint("last ", i), Allowed: i%2 == 0, Outcomes: map[string]string{"k": "recalled"}}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Audit(ctx, AuditQuery{Limit: 3})
		if err != nil || len(got) != 3 || got[0].Scope != "last 4" || got[0].Outcomes["k"] != "recalled" || got[0].At.IsZero() {
			t.Errorf("Audit = %+v, %v", got, err)
		}
	})
}

// TestProbe: a probe succeeds on a store that takes writes, changes
// nothing anyone reads, and fails once the store is gone.
func TestProbe(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		before, _ := s.Counts(ctx)
		for range 3 {
			if err := s.Probe(ctx); err != nil {
				t.Fatalf("Probe: %v", err)
			}
		}
		if after, _ := s.Counts(ctx); !reflect.DeepEqual(before, after) {
			t.Errorf("probes changed the counts: %v, then %v", before, after)
		}
	})
	s, err := Open(filepath.Join(t.TempDir(), "closed.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := s.Probe(context.Background()); err == nil {
		t.Error("Probe of a closed ledger succeeded")
	}
}

func TestPrune(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		old := time.Now().Add(-40 * 24 * time.Hour)
		for i := range 3 {
			e := mustAppend(t, s, Entry{Chat: chatA, SentAt: old, BatchID: "old", ExpiresAt: old.Add(time.Hour)})
			_, _ = s.Transition(ctx, e.ID, Transition{To: Sent, Key: fmt.Sprint("old", i)})
		}
		_, _ = s.AppendAudit(ctx, AuditRecord{At: old, Actor: "a", Action: "recall"})
		keep := mustSend(t, s, chatA, "new")
		n, err := s.Prune(ctx, time.Now().Add(-30*24*time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("Prune = %d, %v", n, err)
		}
		if _, err := s.ByKey(ctx, "old0"); !errors.Is(err, ErrNotFound) {
			t.Errorf("pruned key still found: %v", err)
		}
		if got, _ := s.List(ctx, Query{Chat: chatA}); len(got) != 1 || got[0].ID != keep.ID {
			t.Errorf("after prune = %v", excerpts(got))
		}
		if a, _ := s.Audit(ctx, AuditQuery{Limit: 10}); len(a) != 0 {
			t.Errorf("old audit kept: %+v", a)
		}
		if c, _ := s.Counts(ctx); c.Total() != 1 {
			t.Errorf("Counts = %v", c)
		}
	})
}

// TestConcurrentUse runs writers, claimers and readers at once; the race
// detector watches, each entry is claimed exactly once, and Check (run by
// stores) finds the indexes consistent.
func TestConcurrentUse(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		const writers, each = 8, 40
		var wg sync.WaitGroup
		ids := make(chan uint64, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := Chat{Family: Group, ConversationID: fmt.Sprint("cid", w%3)}
				for range each {
					e, err := s.Append(ctx, Entry{Chat: c, MsgKey: "sampleText"})
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := s.Transition(ctx, e.ID, Transition{To: Sent, Key: fmt.Sprint("ck", e.ID)}); err != nil {
						t.Error(err)
						return
					}
					ids <- e.ID
					if _, err := s.List(ctx, Query{Chat: c, Limit: 20}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		close(ids)
		var all []uint64
		for id := range ids {
			all = append(all, id)
		}
		var mu sync.Mutex
		claims := map[uint64]int{}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < len(all); i += 7 {
					claimed, _, _, err := s.Claim(ctx, all[i:min(i+7, len(all))], by(time.Now()))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, e := range claimed {
						claims[e.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, id := range all {
			if claims[id] != 1 {
				t.Errorf("entry %d claimed %d times", id, claims[id])
			}
		}
	})
}

func TestClaimFor(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		a, b := mustSend(t, s, chatA, "a"), mustSend(t, s, chatA, "b")
		once := Once{NS: "cmd", ID: "msg-1", TTL: time.Minute}
		first, claimed, _, _, err := s.ClaimFor(ctx, once, []uint64{a.ID}, by(time.Now()))
		if err != nil || !first || len(claimed) != 1 {
			t.Fatalf("first ClaimFor = %v %v %v", first, claimed, err)
		}
		// The same request again (a redelivery, another instance): nothing.
		first, claimed, _, _, err = s.ClaimFor(ctx, once, []uint64{b.ID}, by(time.Now()))
		if err != nil || first || len(claimed) != 0 {
			t.Errorf("repeated ClaimFor = %v %v %v", first, claimed, err)
		}
		if e, _ := s.Get(ctx, b.ID); e.State != Sent {
			t.Errorf("a repeated request claimed %d", b.ID)
		}
		if again, _ := s.ClaimOnce(ctx, "cmd", "msg-1", time.Minute); again {
			t.Error("ClaimOnce did not see ClaimFor's record")
		}
		// No entries: only the request is recorded.
		if first, _, _, _, err := s.ClaimFor(ctx, Once{NS: "cmd", ID: "msg-2", TTL: time.Minute}, nil, by(time.Now())); err != nil || !first {
			t.Errorf("ClaimFor with no entries = %v, %v", first, err)
		}
		if again, _ := s.ClaimOnce(ctx, "cmd", "msg-2", time.Minute); again {
			t.Error("the request without entries was not recorded")
		}
	})
}

// TestPackedKeys: one oto key sent to several users is one entry listed in
// each recipient's chat; when DingTalk reached only some, the others' chats
// no longer list it.
func TestPackedKeys(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		users := []string{"ua", "ub", "uc"}
		e := mustAppend(t, s, Entry{Chat: Chat{Family: OTO}, Recipients: users, BatchID: "all-hands", Excerpt: "all hands at 3"})
		if e.Chat.UserID != "ua" || !reflect.DeepEqual(e.Recipients, users) || e.Reach() != 3 {
			t.Fatalf("appended %+v", e)
		}
		for _, u := range users {
			got, _ := s.List(ctx, Query{Chat: Chat{Family: OTO, UserID: u}})
			if len(got) != 1 || got[0].ID != e.ID {
				t.Errorf("%s's chat lists %v", u, excerpts(got))
			}
		}
		// ub was flow-controlled: DingTalk reached ua and uc only.
		sent, err := s.Transition(ctx, e.ID, Transition{To: Sent, Key: "packed-key", Recipients: []string{"ua", "uc"}})
		if err != nil || !reflect.DeepEqual(sent.Recipients, []string{"ua", "uc"}) {
			t.Fatalf("sent %+v, %v", sent, err)
		}
		if got, _ := s.List(ctx, Query{Chat: Chat{Family: OTO, UserID: "ub"}}); len(got) != 0 {
			t.Errorf("ub's chat still lists the message: %v", excerpts(got))
		}
		if got, _ := s.List(ctx, Query{Chat: Chat{Family: OTO, UserID: "uc"}}); len(got) != 1 {
			t.Errorf("uc's chat: %v", excerpts(got))
		}
		if got, _ := s.ByKey(ctx, "packed-key"); got.Reach() != 2 {
			t.Errorf("ByKey = %+v", got)
		}
		for _, bad := range []Entry{
			{Chat: chatB, Recipients: []string{"x", "y"}},
			{Chat: Chat{Family: OTO}, Recipients: make([]string, 21)},
			{Chat: Chat{Family: OTO}, Recipients: []string{"x", ""}},
		} {
			if _, err := s.Append(ctx, bad); err == nil {
				t.Errorf("Append(%+v) accepted", bad)
			}
		}
		if n, err := s.Prune(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
			t.Errorf("Prune = %d, %v", n, err)
		}
		for _, u := range users {
			if got, _ := s.List(ctx, Query{Chat: Chat{Family: OTO, UserID: u}}); len(got) != 0 {
				t.Errorf("pruned, but %s's chat lists %v", u, excerpts(got))
			}
		}
	})
}

// TestJobs: a broadcast is written ahead one step at a time, by its runner
// only, never twice; flow-controlled users come back as retry steps; a
// cancelled job takes no more steps; a lapsed runner is replaced.
func TestJobs(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		var steps [][]Chat
		steps = append(steps, []Chat{chatB})
		var users []Chat
		for i := range 45 {
			users = append(users, Chat{Family: OTO, UserID: fmt.Sprint("u", i)})
		}
		for i := 0; i < len(users); i += 20 {
			steps = append(steps, users[i:min(i+20, len(users))])
		}
		j, err := s.CreateJob(ctx, Job{ID: "b-1", MsgKey: "sampleText", MsgParam: `{"content":"all hands"}`, Excerpt: "all hands"}, slices.Values(steps))
		if err != nil || j.Steps != 4 || j.Recipients != 46 || j.State != JobRunning {
			t.Fatalf("CreateJob = %+v, %v", j, err)
		}
		if _, err := s.CreateJob(ctx, Job{ID: "b-1"}, slices.Values(steps)); !errors.Is(err, ErrJobExists) {
			t.Errorf("second CreateJob: %v", err)
		}
		got, err := s.JobSteps(ctx, "b-1", 1, 10)
		if err != nil || len(got) != 3 || len(got[0]) != 20 || len(got[2]) != 5 || got[2][4].UserID != "u44" {
			t.Fatalf("JobSteps = %v, %v", got, err)
		}
		// Only its runner takes steps, in order.
		if _, _, err := s.StartStep(ctx, "b-1", "a", 0, Entry{Chat: chatB}); err == nil {
			t.Error("a step without a runner")
		}
		if _, mine, err := s.TakeJob(ctx, "b-1", Claimant{Owner: "a", At: time.Now(), LeaseTTL: time.Hour}); err != nil || !mine {
			t.Fatalf("TakeJob a: %v %v", mine, err)
		}
		if _, mine, _ := s.TakeJob(ctx, "b-1", Claimant{Owner: "b", At: time.Now(), LeaseTTL: time.Hour}); mine {
			t.Error("b took a job whose runner is alive")
		}
		e, j, err := s.StartStep(ctx, "b-1", "a", 0, Entry{Chat: chatB, Excerpt: "all hands"})
		if err != nil || e.State != Pending || e.BatchID != "b-1" || j.Next != 1 || j.Calls != 0 || len(j.Planned()) != 1 {
			t.Fatalf("StartStep 0 = %+v %+v %v", e, j, err)
		}
		if j, err = s.DispatchStep(ctx, "b-1", "a", e.ID); err != nil || j.Calls != 1 || len(j.InFlight()) != 1 {
			t.Fatalf("DispatchStep 0 = %+v %v", j, err)
		}
		var jse *JobStateError
		if _, _, err := s.StartStep(ctx, "b-1", "a", 0, Entry{Chat: chatB}); !errors.As(err, &jse) {
			t.Errorf("step 0 again: %v", err)
		}
		if _, j, err = s.SettleStep(ctx, "b-1", e.ID, Transition{To: Sent, Key: "k-b1-0"}, JobDelta{Sent: 1}); err != nil || j.Sent != 1 || len(j.Open) != 0 {
			t.Fatalf("SettleStep = %+v %v", j, err)
		}
		// A packed step: 20 users, 2 flow-controlled and 1 invalid.
		e, _, err = s.StartStep(ctx, "b-1", "a", 1, Entry{Chat: Chat{Family: OTO}, Recipients: userIDs(steps[1])})
		if err != nil || e.Reach() != 20 {
			t.Fatalf("StartStep 1 = %+v %v", e, err)
		}
		reached := userIDs(steps[1])[3:]
		_, j, err = s.SettleStep(ctx, "b-1", e.ID, Transition{To: Sent, Key: "k-b1-1", Recipients: reached},
			JobDelta{Sent: len(reached), Failed: 1, Retry: []RetryUser{{"u0", 1}, {"u1", 1}}, RetryAt: time.Now()})
		if err != nil || j.Sent != 18 || j.Failed != 1 || len(j.Retry) != 2 || j.Pending() != 27 {
			t.Fatalf("settled %+v %v", j, err)
		}
		// A retry is not due before the steps are done.
		if _, _, err := s.StartStep(ctx, "b-1", "a", 4, Entry{Chat: Chat{Family: OTO}}); !errors.As(err, &jse) {
			t.Errorf("early retry: %v", err)
		}
		for step := 2; step <= 3; step++ {
			e, _, err := s.StartStep(ctx, "b-1", "a", step, Entry{Chat: Chat{Family: OTO}, Recipients: userIDs(steps[step])})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.DispatchStep(ctx, "b-1", "a", e.ID); err != nil {
				t.Fatal(err)
			}
		}
		e, j, err = s.StartStep(ctx, "b-1", "a", 4, Entry{Chat: Chat{Family: OTO}})
		if err != nil || !reflect.DeepEqual(e.Recipients, []string{"u0", "u1"}) || len(j.Retry) != 0 || j.Finished() {
			t.Fatalf("retry step = %+v %+v %v", e, j, err)
		}
		if o := j.Planned(); len(o) != 1 || !reflect.DeepEqual(o[0].Tries, []int{1, 1}) {
			t.Errorf("the retry step's tries: %+v", o)
		}
		if j, _ = s.DispatchStep(ctx, "b-1", "a", e.ID); !j.Finished() || len(j.InFlight()) != 3 {
			t.Errorf("all dispatched: %+v", j)
		}
		// Cancelled: no more steps. Its runner's lease gone: another takes it.
		if _, err := s.UpdateJob(ctx, "b-1", func(j *Job) error { j.State = JobCancelled; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.StartStep(ctx, "b-1", "a", 5, Entry{Chat: Chat{Family: OTO}}); !errors.As(err, &jse) {
			t.Errorf("a step after cancel: %v", err)
		}
		if jobs, _ := s.Jobs(ctx, JobCancelled); len(jobs) != 1 || jobs[0].ID != "b-1" {
			t.Errorf("Jobs(cancelled) = %+v", jobs)
		}
		if jobs, _ := s.Jobs(ctx, JobRunning); len(jobs) != 0 {
			t.Errorf("Jobs(running) = %+v", jobs)
		}
		if _, err := s.CreateJob(ctx, Job{ID: "b-2"}, slices.Values([][]Chat{{chatA}})); err != nil {
			t.Fatal(err)
		}
		if _, mine, _ := s.TakeJob(ctx, "b-2", Claimant{Owner: "dead", At: time.Now(), LeaseTTL: time.Hour}); !mine {
			t.Fatal("the first runner did not get b-2")
		}
		_, _, _ = s.TakeTemp(ctx, LeaseNS, "dead") // its runner stopped renewing: the lease is gone
		if j, mine, err := s.TakeJob(ctx, "b-2", Claimant{Owner: "b", At: time.Now(), LeaseTTL: time.Hour}); !mine || j.Owner != "b" || err != nil {
			t.Errorf("b did not take over a lapsed runner: %+v %v %v", j, mine, err)
		}
		if batch, _ := s.Batch(ctx, "b-1"); len(batch) != 5 {
			t.Errorf("batch b-1 has %d entries", len(batch))
		}
	})
}

func userIDs(cs []Chat) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.UserID
	}
	return out
}
