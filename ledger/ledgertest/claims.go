package ledgertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// testClaimFor: a claim made for a one-time request is made once, and
// records the request as ClaimOnce does.
func testClaimFor(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	a, b := mustSend(t, s, chatA, "a"), mustSend(t, s, chatA, "b")
	once := ledger.Once{NS: "cmd", ID: "msg-1", TTL: time.Minute}
	first, claimed, _, _, err := s.ClaimFor(ctx, once, []uint64{a.ID}, by(time.Now()))
	if err != nil || !first || len(claimed) != 1 {
		t.Fatalf("first ClaimFor = %v %v %v", first, claimed, err)
	}
	// The same request again (a redelivery, another instance): nothing.
	first, claimed, _, _, err = s.ClaimFor(ctx, once, []uint64{b.ID}, by(time.Now()))
	if err != nil || first || len(claimed) != 0 {
		t.Errorf("repeated ClaimFor = %v %v %v", first, claimed, err)
	}
	if e, _ := s.Get(ctx, b.ID); e.State != ledger.Sent {
		t.Errorf("a repeated request claimed %d", b.ID)
	}
	if again, _ := s.ClaimOnce(ctx, "cmd", "msg-1", time.Minute); again {
		t.Error("ClaimOnce did not see ClaimFor's record")
	}
	// No entries: only the request is recorded.
	if first, _, _, _, err := s.ClaimFor(ctx, ledger.Once{NS: "cmd", ID: "msg-2", TTL: time.Minute}, nil, by(time.Now())); err != nil || !first {
		t.Errorf("ClaimFor with no entries = %v, %v", first, err)
	}
	if again, _ := s.ClaimOnce(ctx, "cmd", "msg-2", time.Minute); again {
		t.Error("the request without entries was not recorded")
	}
}

// testConcurrentUse runs writers, claimers and readers at once; the race
// detector watches, each entry is claimed exactly once, and Check (run by
// Run after every case) finds the indexes consistent.
func testConcurrentUse(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	const writers, each = 8, 40
	var wg sync.WaitGroup
	ids := make(chan uint64, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ledger.Chat{Family: ledger.Group, ConversationID: fmt.Sprint("cid", w%3)}
			for range each {
				e, err := s.Append(ctx, ledger.Entry{Chat: c, MsgKey: "sampleText"})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Transition(ctx, e.ID, ledger.Transition{To: ledger.Sent, Key: fmt.Sprint("ck", e.ID)}); err != nil {
					t.Error(err)
					return
				}
				ids <- e.ID
				if _, err := s.List(ctx, ledger.Query{Chat: c, Limit: 20}); err != nil {
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
}
