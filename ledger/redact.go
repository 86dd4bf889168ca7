package ledger

import (
	"context"
	"errors"
	"fmt"
)

// Redaction is how a RedactingStore hides secrets: Redact replaces each
// secret it finds in a text by Placeholder (recallbot passes autorecall's
// Redactor.Redact and autorecall.Redacted).
type Redaction struct {
	Redact      func(string) string
	Placeholder string
}

// RedactingStore is a Store whose audit records are redacted on their way
// in: whatever a stranger or an admin typed (a token, a secret pasted into
// a command) is never written down. An audit record the store cannot take
// (it is down) goes to the spool and reaches the store with the keys
// waiting there, so an attempt made during an outage, a denied one above
// all, is audited all the same. Every other method is the store's own.
type RedactingStore struct {
	Store
	red   Redaction
	spool *Spool
}

// Redacting returns s with its AppendAudit redacting each record by red
// and spooling, when spool is not nil, the records s refuses.
func Redacting(s Store, red Redaction, spool *Spool) *RedactingStore {
	return &RedactingStore{Store: s, red: red, spool: spool}
}

// AppendAudit redacts r's actor, scope, note and outcomes and appends it.
// If the store refuses it and a spool is set, the redacted record is
// spooled instead and returned with no error: it is on the record.
func (s *RedactingStore) AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	r = s.redactAudit(r)
	rec, err := s.Store.AppendAudit(ctx, r)
	if err == nil || s.spool == nil {
		return rec, err
	}
	if serr := s.spool.Add(SpoolRecord{Seq: s.spool.NextSeq(), Audit: &r}); serr != nil {
		return rec, errors.Join(err, serr)
	}
	return r, nil
}

// redactAudit is r with every text redacted. An outcome's key that was a
// secret whole (it redacts to Placeholder), or that redacts to a key
// another outcome has, is renamed Placeholder#n, n the outcomes so far
// plus one: no outcome overwrites another.
func (s *RedactingStore) redactAudit(r AuditRecord) AuditRecord {
	redact := s.red.Redact
	r.Actor, r.Scope, r.Note = redact(r.Actor), redact(r.Scope), redact(r.Note)
	if r.About != nil && r.About.Matching != "" { // what an admin typed to match
		about := *r.About
		about.Matching = redact(about.Matching)
		r.About = &about
	}
	if len(r.Outcomes) == 0 {
		return r
	}
	out := make(map[string]string, len(r.Outcomes))
	for k, v := range r.Outcomes {
		rk := redact(k)
		if _, dup := out[rk]; dup || rk != k && rk == s.red.Placeholder {
			rk = fmt.Sprintf("%s#%d", s.red.Placeholder, len(out)+1)
		}
		out[rk] = redact(v)
	}
	r.Outcomes = out
	return r
}
