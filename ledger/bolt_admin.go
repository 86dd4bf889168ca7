package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	bolt "go.etcd.io/bbolt"
)

func tempKey(ns, id string) []byte { return append(append([]byte(ns), 0), id...) }

// ClaimOnce reports whether id is claimed in ns for the first time.
func (s *Bolt) ClaimOnce(ctx context.Context, ns, id string, ttl time.Duration) (bool, error) {
	first := false
	err := s.update(func(tx *bolt.Tx) (err error) {
		first, err = claimTemp(tx, Once{NS: ns, ID: id, TTL: ttl}, s.now())
		return err
	})
	return first, err
}

// claimTemp records once unless a live record exists, and reports whether
// it did.
func claimTemp(tx *bolt.Tx, once Once, now time.Time) (bool, error) {
	b := tx.Bucket(bTemp)
	k := tempKey(once.NS, once.ID)
	if v := b.Get(k); len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano() {
		return false, nil
	}
	return true, b.Put(k, be64(uint64(now.Add(once.TTL).UnixNano())))
}

// tempAlive reports whether a live temporary value exists.
func tempAlive(tx *bolt.Tx, ns, id string, now time.Time) bool {
	v := tx.Bucket(bTemp).Get(tempKey(ns, id))
	return len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano()
}

// PutTemp stores a value for ttl.
func (s *Bolt) PutTemp(ctx context.Context, ns, id string, value []byte, ttl time.Duration) error {
	return s.update(func(tx *bolt.Tx) error { return putTemp(tx, ns, id, value, s.now().Add(ttl)) })
}

func putTemp(tx *bolt.Tx, ns, id string, value []byte, expires time.Time) error {
	v := append(be64(uint64(expires.UnixNano())), value...)
	return tx.Bucket(bTemp).Put(tempKey(ns, id), v)
}

// TakeTempIf returns a live value and deletes it if take says so.
func (s *Bolt) TakeTempIf(ctx context.Context, ns, id string, take func([]byte) bool) (value []byte, found, taken bool, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		value, found, taken = nil, false, false
		b := tx.Bucket(bTemp)
		k := tempKey(ns, id)
		v := b.Get(k)
		if len(v) < 8 {
			return nil
		}
		if int64(binary.BigEndian.Uint64(v)) <= s.now().UnixNano() {
			return b.Delete(k) // expired: gone for everyone
		}
		value, found = append([]byte(nil), v[8:]...), true
		if taken = take(value); taken {
			return b.Delete(k)
		}
		return nil
	})
	return value, found, taken, err
}

func auditBucket(trail string) ([]byte, error) {
	switch trail {
	case "":
		return bAudit, nil
	case TrailAccess:
		return bAccess, nil
	}
	return nil, fmt.Errorf("ledger: no audit trail %q", trail)
}

// AppendAudit appends a record to its audit trail.
func (s *Bolt) AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	if r.At.IsZero() {
		r.At = s.now()
	}
	bucket, err := auditBucket(r.Trail)
	if err != nil {
		return AuditRecord{}, err
	}
	var out AuditRecord
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		r := r
		r.ID = id
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		out = r
		return b.Put(be64(id), v)
	})
	return out, err
}

// Mark adds id to the named set.
func (s *Bolt) Mark(ctx context.Context, set, id string) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bMarks).Put(tempKey(set, id), nil) })
}

// Unmark removes id from the named set.
func (s *Bolt) Unmark(ctx context.Context, set, id string) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bMarks).Delete(tempKey(set, id)) })
}

// Marked lists the named set.
func (s *Bolt) Marked(ctx context.Context, set string) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		prefix := tempKey(set, "")
		c := tx.Bucket(bMarks).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out = append(out, string(k[len(prefix):]))
		}
		return nil
	})
	return out, err
}

// SetAuditNote rewrites the note of a record of the recall trail: a
// cancel's record once the calls it left in flight have landed.
func (s *Bolt) SetAuditNote(ctx context.Context, id uint64, note string) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		v := b.Get(be64(id))
		if v == nil {
			return &NotFoundError{fmt.Sprintf("audit record %d", id)}
		}
		var r AuditRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("ledger: corrupt audit record %d: %w", id, err)
		}
		r.Note = note
		nv, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put(be64(id), nv)
	})
}

// Audit returns the newest records of a trail first.
func (s *Bolt) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	limit := limitOr(q.Limit, 20)
	bucket, err := auditBucket(q.Trail)
	if err != nil {
		return nil, err
	}
	var out []AuditRecord
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r AuditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("ledger: corrupt audit record %x: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// pruneStep is how many records one prune transaction deletes: small, so
// that a writer waits at most one short transaction.
const pruneStep = 500

// Prune deletes what is older than cutoff, pruneStep records at a time.
func (s *Bolt) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, more := 0, false
		err := s.updateNow(func(tx *bolt.Tx) error {
			n, more = 0, false
			c := tx.Bucket(bEntries).Cursor()
			for k, v := c.First(); k != nil; k, v = c.First() {
				e, err := decodeEntry(v)
				if err != nil {
					return err
				}
				if !e.SentAt.Before(cutoff) {
					return nil
				}
				if n == pruneStep {
					more = true
					return nil
				}
				if err := deleteEntry(tx, e); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("ledger prune: %w", err)
		}
		if !more {
			break
		}
	}
	err := s.updateNow(func(tx *bolt.Tx) error {
		if err := pruneJobs(tx, cutoff); err != nil {
			return err
		}
		if err := pruneAlerts(tx, cutoff); err != nil {
			return err
		}
		for _, trail := range [][]byte{bAudit, bAccess} {
			a := tx.Bucket(trail).Cursor()
			for k, v := a.First(); k != nil; k, v = a.First() {
				var r AuditRecord
				if json.Unmarshal(v, &r) == nil && !r.At.Before(cutoff) {
					break
				}
				if err := a.Delete(); err != nil {
					return err
				}
			}
		}
		t := tx.Bucket(bTemp).Cursor()
		now := uint64(s.now().UnixNano())
		for k, v := t.First(); k != nil; k, v = t.Next() {
			if len(v) < 8 || binary.BigEndian.Uint64(v) <= now {
				if err := t.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return total, err
}

func deleteEntry(tx *bolt.Tx, e Entry) error {
	dels := []struct {
		b []byte
		k []byte
	}{
		{bEntries, be64(e.ID)},
	}
	for _, c := range e.Chats() {
		dels = append(dels, struct{ b, k []byte }{bChats, idKey(c.Key(), e.ID)})
	}
	if e.ProcessQueryKey != "" {
		dels = append(dels, struct{ b, k []byte }{bKeys, []byte(e.ProcessQueryKey)})
	}
	if e.BatchID != "" {
		dels = append(dels, struct{ b, k []byte }{bBatches, idKey(e.BatchID, e.ID)})
	}
	if e.due() {
		dels = append(dels, struct{ b, k []byte }{bExpiries, dueKey(e.DueAt, e.ID)})
	}
	if tracked(e.State) {
		dels = append(dels, struct{ b, k []byte }{bStates, idKey(string(e.State), e.ID)})
	}
	for _, d := range dels {
		if err := tx.Bucket(d.b).Delete(d.k); err != nil {
			return err
		}
	}
	return bump(tx, e.State, -1)
}

// Check runs bbolt's own consistency check, then verifies that every entry
// decodes and that the indexes and counters agree with the entries.
func (s *Bolt) Check(ctx context.Context) error {
	return s.view(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("ledger %s: bbolt check: %w", s.path, errors.Join(errs...))
		}
		counts := Counts{}
		var chatIdx, keyIdx, dueIdx int
		err := tx.Bucket(bEntries).ForEach(func(k, v []byte) error {
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("entry %x: %w", k, err)
			}
			if e.ID != binary.BigEndian.Uint64(k) {
				return fmt.Errorf("entry %x carries id %d", k, e.ID)
			}
			counts[e.State]++
			for _, c := range e.Chats() {
				if _, ok := hasKey(tx.Bucket(bChats), idKey(c.Key(), e.ID)); !ok {
					return fmt.Errorf("entry %d missing from the index of chat %s", e.ID, c.Key())
				}
				chatIdx++
			}
			if e.ProcessQueryKey != "" {
				v := tx.Bucket(bKeys).Get([]byte(e.ProcessQueryKey))
				if len(v) < 8 || binary.BigEndian.Uint64(v) != e.ID {
					return fmt.Errorf("entry %d missing from the key index", e.ID)
				}
				if covered, err := keyEntry(tx, v); err != nil || !bytes.Equal(encodeEntry(covered), encodeEntry(e)) {
					return fmt.Errorf("entry %d differs from its copy in the key index", e.ID)
				}
				keyIdx++
			}
			if e.due() {
				if _, ok := hasKey(tx.Bucket(bExpiries), dueKey(e.DueAt, e.ID)); !ok {
					return fmt.Errorf("entry %d missing from the due index", e.ID)
				}
				dueIdx++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("ledger %s: %w", s.path, err)
		}
		if n := tx.Bucket(bChats).Stats().KeyN; n != chatIdx {
			return fmt.Errorf("ledger %s: chat index has %d entries for %d entries", s.path, n, chatIdx)
		}
		if n := tx.Bucket(bExpiries).Stats().KeyN; n != dueIdx {
			return fmt.Errorf("ledger %s: due index has %d entries for %d due entries", s.path, n, dueIdx)
		}
		if n := tx.Bucket(bKeys).Stats().KeyN; n != keyIdx {
			return fmt.Errorf("ledger %s: key index has %d keys for %d sent entries", s.path, n, keyIdx)
		}
		for _, st := range States {
			var stored int64
			if v := tx.Bucket(bCounts).Get([]byte(st)); len(v) == 8 {
				stored = int64(binary.BigEndian.Uint64(v))
			}
			if stored != counts[st] {
				return fmt.Errorf("ledger %s: counter %s is %d, entries say %d", s.path, st, stored, counts[st])
			}
		}
		return nil
	})
}

// hasKey reports whether k is present, also when its value is empty (Get
// returns nil for both an absent key and a nil value).
func hasKey(b *bolt.Bucket, k []byte) ([]byte, bool) {
	ck, v := b.Cursor().Seek(k)
	return v, bytes.Equal(ck, k)
}

// importStep is how many entries one Import transaction writes.
const importStep = 50_000

// Import writes entries as they are, state, key and all, each with the
// next ID (the given ID is ignored), keeping every index, in large
// transactions: for restoring or moving a ledger, and for building large
// test ledgers fast (with BoltOptions.NoSync, then one sync). It is not
// for a ledger in use: an entry imported as sent does not go through the
// state machine. It returns how many entries it wrote.
func (s *Bolt) Import(entries iter.Seq[Entry]) (int, error) {
	next, stop := iter.Pull(entries)
	defer stop()
	total := 0
	for {
		n := 0
		err := s.updateNow(func(tx *bolt.Tx) error {
			counts := map[State]int64{}
			for ; n < importStep; n++ {
				e, ok := next()
				if !ok {
					break
				}
				if err := e.Chat.Validate(); err != nil {
					return fmt.Errorf("entry %d: %w", total+n+1, err)
				}
				id, err := tx.Bucket(bEntries).NextSequence()
				if err != nil {
					return err
				}
				e.ID, e.SentAt, e.UpdatedAt, e.ExpiresAt, e.DueAt = id, norm(e.SentAt), norm(e.UpdatedAt), norm(e.ExpiresAt), norm(e.DueAt)
				if err := putEntry(tx, e); err != nil {
					return err
				}
				if err := putChats(tx, e); err != nil {
					return err
				}
				if e.BatchID != "" {
					if err := tx.Bucket(bBatches).Put(idKey(e.BatchID, id), nil); err != nil {
						return err
					}
				}
				if tracked(e.State) {
					if err := tx.Bucket(bStates).Put(idKey(string(e.State), id), nil); err != nil {
						return err
					}
				}
				if err := putDue(tx, Entry{}, e); err != nil {
					return err
				}
				counts[e.State]++
			}
			for st, c := range counts {
				if err := bump(tx, st, c); err != nil {
					return err
				}
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("ledger import: %w", err)
		}
		if n < importStep {
			return total, s.db.Sync()
		}
	}
}
