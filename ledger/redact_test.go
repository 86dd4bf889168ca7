package ledger

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testRedaction hides two secrets, as autorecall's Redactor would.
var testRedaction = Redaction{
	Redact: func(s string) string {
		return strings.NewReplacer("tok-SECRET-123", "[redacted]", "tok-OTHER-456", "[redacted]").Replace(s)
	},
	Placeholder: "[redacted]",
}

// secretRecord is an audit record with the secrets in every field a
// person or a caller can fill.
func secretRecord() AuditRecord {
	return AuditRecord{Actor: "api:tok-SECRET-123", Action: "recall", Scope: "last 1 matching tok-SECRET-123",
		Note: "pasted tok-OTHER-456", Outcomes: map[string]string{
			"tok-SECRET-123":        "recalled",
			"tok-OTHER-456":         "failed: tok-OTHER-456 unknown",
			"#7 tok-SECRET-123":     "recalled",
			"key-1":                 "recalled",
			"[redacted]":            "a key that is the placeholder already",
			"[redacted]#2-is-plain": "kept",
		}}
}

// checkRedacted fails t if r holds a secret or lost an outcome of
// secretRecord.
func checkRedacted(t *testing.T, r AuditRecord) {
	t.Helper()
	all := r.Actor + r.Scope + r.Note
	for k, v := range r.Outcomes {
		all += k + v
	}
	if strings.Contains(all, "SECRET") || strings.Contains(all, "OTHER") {
		t.Errorf("a secret was written down: %+v", r)
	}
	if r.Actor != "api:[redacted]" || r.Scope != "last 1 matching [redacted]" || r.Note != "pasted [redacted]" {
		t.Errorf("actor, scope, note = %q, %q, %q", r.Actor, r.Scope, r.Note)
	}
	if len(r.Outcomes) != len(secretRecord().Outcomes) {
		t.Errorf("outcomes overwrote each other: %v", r.Outcomes)
	}
	renamed := 0
	for k := range r.Outcomes {
		if strings.HasPrefix(k, "[redacted]#") && k != "[redacted]#2-is-plain" {
			renamed++
		}
	}
	if renamed != 2 || r.Outcomes["key-1"] != "recalled" || r.Outcomes["#7 [redacted]"] != "recalled" ||
		r.Outcomes["[redacted]"] != "a key that is the placeholder already" || r.Outcomes["[redacted]#2-is-plain"] != "kept" {
		t.Errorf("outcomes = %v; want the two secret keys renamed [redacted]#n and the rest kept", r.Outcomes)
	}
}

func openBolt(t *testing.T, name string) *Bolt {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), name), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRedactingStoreHidesSecrets: what an audit record says is redacted
// before the store sees it, and an outcome whose key was a secret keeps
// its place under a name of its own.
func TestRedactingStoreHidesSecrets(t *testing.T) {
	ctx := context.Background()
	s := openBolt(t, "l.db")
	rs := Redacting(s, testRedaction, nil)
	rec, err := rs.AppendAudit(ctx, secretRecord())
	if err != nil || rec.ID == 0 {
		t.Fatalf("AppendAudit = %+v, %v", rec, err)
	}
	checkRedacted(t, rec)
	stored, err := s.Audit(ctx, AuditQuery{Limit: 5})
	if err != nil || len(stored) != 1 {
		t.Fatalf("Audit = %+v, %v", stored, err)
	}
	checkRedacted(t, stored[0])
	// A key that was a secret whole is renamed even with nothing to
	// collide with yet, so that no later key can overwrite it.
	one, err := rs.AppendAudit(ctx, AuditRecord{Actor: "x", Action: "recall", Outcomes: map[string]string{"tok-SECRET-123": "recalled"}})
	if err != nil || len(one.Outcomes) != 1 || one.Outcomes["[redacted]#1"] != "recalled" {
		t.Errorf("one secret key: %v, %v; want [redacted]#1", one.Outcomes, err)
	}
	// Every other method is the store's own.
	e, err := rs.Append(ctx, Entry{Chat: chatA, Excerpt: "tok-SECRET-123"})
	if err != nil || e.Excerpt != "tok-SECRET-123" {
		t.Errorf("Append through the redacting store = %+v, %v", e, err)
	}
}

// TestRedactingStoreSpoolsWhatTheStoreRefuses: an audit record the store
// cannot take goes to the spool, redacted, and reaches the store with the
// spool's replay; with no spool, or a spool that fails too, the caller is
// told.
func TestRedactingStoreSpoolsWhatTheStoreRefuses(t *testing.T) {
	ctx := context.Background()
	down := openBolt(t, "down.db")
	_ = down.Close() // the ledger is down: every write fails
	sp, err := OpenSpool(filepath.Join(t.TempDir(), "s.spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()

	rec, err := Redacting(down, testRedaction, sp).AppendAudit(ctx, secretRecord())
	if err != nil {
		t.Fatalf("an audit record with a spool to take it: %v", err)
	}
	checkRedacted(t, rec)
	if sp.Waiting() != 1 {
		t.Fatalf("the spool holds %d records, want the audit record", sp.Waiting())
	}
	b, err := os.ReadFile(sp.Path())
	if err != nil || strings.Contains(string(b), "SECRET") || strings.Contains(string(b), "OTHER") {
		t.Errorf("the spool file holds a secret (%v): %s", err, b)
	}
	up := openBolt(t, "up.db")
	if n, err := sp.Replay(ctx, up); n != 1 || err != nil {
		t.Fatalf("Replay = %d, %v", n, err)
	}
	if got, err := up.Audit(ctx, AuditQuery{Limit: 5}); err != nil || len(got) != 1 {
		t.Fatalf("after the replay: %+v, %v", got, err)
	} else {
		checkRedacted(t, got[0])
	}

	if _, err := Redacting(down, testRedaction, nil).AppendAudit(ctx, secretRecord()); err == nil {
		t.Error("a refused audit record without a spool was taken for written")
	}
	failing, err := OpenSpool(filepath.Join(t.TempDir(), "f.spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer failing.Close()
	writable := failing.f
	ro, err := os.Open(failing.Path()) // writes to it fail, as on a failed disk
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	failing.f = ro
	_, err = Redacting(down, testRedaction, failing).AppendAudit(ctx, secretRecord())
	failing.f = writable
	if err == nil || !strings.Contains(err.Error(), failing.Path()) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("store and spool both refusing: %v; want both errors, no secret", err)
	}
	if failing.Waiting() != 0 {
		t.Errorf("a record the spool refused counts as waiting")
	}
}
