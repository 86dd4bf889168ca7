package ledger

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestTempExpires: a temporary value and a one-time claim are gone once
// their TTL has passed on the store's clock.
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
	if _, ok, _, _ := s.TakeTempIf(ctx, "confirm", "OLD", func([]byte) bool { return true }); ok {
		t.Error("TakeTempIf returned an expired value")
	}
	if again, _ := s.ClaimOnce(ctx, "cmd", "m", time.Minute); !first || !again {
		t.Errorf("ClaimOnce after the TTL = %v, want a fresh claim", again)
	}
}

// TestProbeOfAClosedLedger: a probe fails once the store is gone
// (ledgertest's Probe holds both stores to succeeding while they take
// writes).
func TestProbeOfAClosedLedger(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "closed.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := s.Probe(context.Background()); err == nil {
		t.Error("Probe of a closed ledger succeeded")
	}
}
