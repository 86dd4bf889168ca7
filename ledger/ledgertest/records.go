package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// testClaimOnceAndTemp: a one-time claim is first once; a temporary value
// is taken only when its taker says so, and then only once.
func testClaimOnceAndTemp(t *testing.T, s ledger.Store) {
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
	// A take that says no leaves the value for its owner.
	v, ok, taken, err := s.TakeTempIf(ctx, "confirm", "ABC", func(v []byte) bool { return string(v) == "someone else's" })
	if err != nil || !ok || taken || string(v) != "payload" {
		t.Errorf("TakeTempIf refusing = %q %v %v %v", v, ok, taken, err)
	}
	v, ok, taken, err = s.TakeTempIf(ctx, "confirm", "ABC", always)
	if err != nil || !ok || !taken || string(v) != "payload" {
		t.Errorf("TakeTempIf = %q %v %v %v", v, ok, taken, err)
	}
	if _, ok, _, _ := s.TakeTempIf(ctx, "confirm", "ABC", always); ok {
		t.Error("TakeTempIf returned a value taken already")
	}
}

// testMarks: a named set keeps its ids until they are unmarked, apart from
// other sets.
func testMarks(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	for _, id := range []string{"r-2", "r-1", "r-2"} {
		if err := s.Mark(ctx, "recalls", id); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Mark(ctx, "recallsx", "other")
	if got, err := s.Marked(ctx, "recalls"); err != nil || !slices.Equal(got, []string{"r-1", "r-2"}) {
		t.Errorf("Marked = %v, %v", got, err)
	}
	if err := s.Unmark(ctx, "recalls", "r-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Marked(ctx, "recalls"); !slices.Equal(got, []string{"r-2"}) {
		t.Errorf("after Unmark: %v", got)
	}
	if got, _ := s.Marked(ctx, "none"); len(got) != 0 {
		t.Errorf("an empty set: %v", got)
	}
}

// testAuditTrail: audit records come back newest first, whole.
func testAuditTrail(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.AppendAudit(ctx, ledger.AuditRecord{Actor: "manager4220", Action: "recall", Scope: fmt.Sprint("last ", i), Allowed: i%2 == 0, Outcomes: map[string]string{"k": "recalled"}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx, ledger.AuditQuery{Limit: 3})
	if err != nil || len(got) != 3 || got[0].Scope != "last 4" || got[0].Outcomes["k"] != "recalled" || got[0].At.IsZero() {
		t.Errorf("Audit = %+v, %v", got, err)
	}
}

// testSetAuditNote: a record's note can be brought up to date; the rest
// of it stays.
func testSetAuditNote(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	r, err := s.AppendAudit(ctx, ledger.AuditRecord{Actor: "api:ops", Action: "broadcast.cancel", Scope: "batch b-1", Allowed: true, Note: "880 reached"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.AppendAudit(ctx, ledger.AuditRecord{Actor: "x", Action: "recall", Allowed: true})
	if err := s.SetAuditNote(ctx, r.ID, "980 reached"); err != nil {
		t.Fatal(err)
	}
	recs, _ := s.Audit(ctx, ledger.AuditQuery{Limit: 10})
	if len(recs) != 2 || recs[1].ID != r.ID || recs[1].Note != "980 reached" || recs[1].Actor != "api:ops" {
		t.Errorf("records %+v", recs)
	}
	if err := s.SetAuditNote(ctx, 999, "x"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a missing record: %v", err)
	}
}
