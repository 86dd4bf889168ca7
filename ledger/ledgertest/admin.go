package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// testProbe: a probe succeeds on a store that takes writes, changes
// nothing anyone reads, and fails once the store is gone.
func testProbe(t *testing.T, s ledger.Store) {
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
}

// testPrune: entries and audit records older than the cutoff go, with
// their indexes; newer ones stay.
func testPrune(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	old := time.Now().Add(-40 * 24 * time.Hour)
	for i := range 3 {
		e := mustAppend(t, s, ledger.Entry{Chat: chatA, SentAt: old, BatchID: "old", ExpiresAt: old.Add(time.Hour)})
		_, _ = s.Transition(ctx, e.ID, ledger.Transition{To: ledger.Sent, Key: fmt.Sprint("old", i)})
	}
	_, _ = s.AppendAudit(ctx, ledger.AuditRecord{At: old, Actor: "a", Action: "recall"})
	keep := mustSend(t, s, chatA, "new")
	n, err := s.Prune(ctx, time.Now().Add(-30*24*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	if _, err := s.ByKey(ctx, "old0"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("pruned key still found: %v", err)
	}
	if got, _ := s.List(ctx, ledger.Query{Chat: chatA}); len(got) != 1 || got[0].ID != keep.ID {
		t.Errorf("after prune = %v", excerpts(got))
	}
	if a, _ := s.Audit(ctx, ledger.AuditQuery{Limit: 10}); len(a) != 0 {
		t.Errorf("old audit kept: %+v", a)
	}
	if c, _ := s.Counts(ctx); c.Total() != 1 {
		t.Errorf("Counts = %v", c)
	}
}
