package ledger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. chats, batches and expiries are indexes whose keys end in
// the entry's big-endian ID, so a cursor walks them in send order.
var (
	bMeta      = []byte("meta")
	bEntries   = []byte("entries")  // id -> encoded entry
	bChats     = []byte("chats")    // chatKey 0x00 id -> nil
	bKeys      = []byte("keys")     // processQueryKey -> id, then the encoded entry (a covering index)
	bBatches   = []byte("batches")  // batchID 0x00 id -> nil
	bExpiries  = []byte("expiries") // expiresAt(ns) id -> nil, while recallable
	bStates    = []byte("states")   // state 0x00 id -> nil, for tracked states
	bCounts    = []byte("counts")   // state -> count
	bTemp      = []byte("temp")     // ns 0x00 id -> expiry(ns) value
	bAudit     = []byte("audit")    // id -> JSON
	allBuckets = [][]byte{bMeta, bEntries, bChats, bKeys, bBatches, bExpiries, bStates, bCounts, bTemp, bAudit}

	magicKey   = []byte("magic")
	magicValue = []byte("recallbot-ledger")
	versionKey = []byte("version")
)

const schemaVersion = 1

// Bolt is the embedded ledger: one bbolt file, durable when a call returns.
type Bolt struct {
	db       *bolt.DB
	path     string
	now      func() time.Time
	inflight atomic.Int32
}

// BoltOptions tunes the embedded store. The zero value is the default.
type BoltOptions struct {
	// LockTimeout is how long Open waits for another process to release
	// the file; default 1 s.
	LockTimeout time.Duration
	// NoSync skips fsync (benchmarks' baseline only; never in production).
	NoSync bool
	// Now is the clock for temporary values' TTLs; default time.Now.
	Now func() time.Time
}

// Open opens or creates the embedded ledger at path. A file that is not a
// recallbot ledger is an error, never silently replaced by a new ledger.
// Opening reads no entries: a large ledger opens as fast as a small one.
func Open(path string, opts BoltOptions) (*Bolt, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	existed := false
	if fi, err := os.Stat(path); err == nil {
		existed = fi.Size() > 0
		if fi.IsDir() {
			return nil, fmt.Errorf("ledger %s is a directory, not a ledger file", path)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.LockTimeout,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("ledger %s is locked by another process (another recallbot? several instances need ledger.redis_url)", path)
	case err != nil && existed:
		return nil, fmt.Errorf("ledger %s is not a recallbot ledger or is corrupt (%v); move it aside or fix ledger.path", path, err)
	case err != nil:
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta == nil {
			if existed && hasBuckets(tx) {
				return fmt.Errorf("ledger %s is a bbolt file of another program (no recallbot meta bucket)", path)
			}
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			meta = tx.Bucket(bMeta)
			if err := meta.Put(magicKey, magicValue); err != nil {
				return err
			}
			return meta.Put(versionKey, be64(schemaVersion))
		}
		if !bytes.Equal(meta.Get(magicKey), magicValue) {
			return fmt.Errorf("ledger %s is a bbolt file of another program", path)
		}
		if v := meta.Get(versionKey); len(v) != 8 || binary.BigEndian.Uint64(v) != schemaVersion {
			return fmt.Errorf("ledger %s has schema version %x; this recallbot reads version %d", path, v, schemaVersion)
		}
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("ledger %s is damaged: bucket %s is missing", path, name)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Bolt{db: db, path: path, now: opts.Now}, nil
}

func hasBuckets(tx *bolt.Tx) bool {
	found := false
	_ = tx.ForEach(func([]byte, *bolt.Bucket) error { found = true; return nil })
	return found
}

// Close closes the file.
func (s *Bolt) Close() error { return s.db.Close() }

// update runs fn in a write transaction. With few writers in flight it
// takes bbolt's writer lock directly: waiting for one other commit (~0.5
// ms) beats bbolt Batch's collection delay. With more it group-commits
// through Batch, so throughput is not one fsync per write. fn may run more
// than once and must not keep state between runs.
func (s *Bolt) update(fn func(*bolt.Tx) error) error {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if n <= directWriters {
		return s.db.Update(fn)
	}
	return s.db.Batch(fn)
}

// directWriters is how many concurrent writers take the lock directly
// before the rest are batched.
const directWriters = 3

func idKey(prefix string, id uint64) []byte {
	k := make([]byte, 0, len(prefix)+9)
	k = append(k, prefix...)
	k = append(k, 0)
	return append(k, be64(id)...)
}

func expiryKey(t time.Time, id uint64) []byte {
	return append(be64(uint64(t.UnixNano())), be64(id)...)
}

func bump(tx *bolt.Tx, st State, delta int64) error {
	c := tx.Bucket(bCounts)
	var n int64
	if v := c.Get([]byte(st)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	return c.Put([]byte(st), be64(uint64(n+delta)))
}

// Append writes a new pending entry.
func (s *Bolt) Append(ctx context.Context, e Entry) (Entry, error) {
	e, err := prepare(e)
	if err != nil {
		return Entry{}, err
	}
	var out Entry
	err = s.update(func(tx *bolt.Tx) error {
		id, err := tx.Bucket(bEntries).NextSequence()
		if err != nil {
			return err
		}
		e := e
		e.ID = id
		if err := tx.Bucket(bEntries).Put(be64(id), encodeEntry(e)); err != nil {
			return err
		}
		if err := tx.Bucket(bChats).Put(idKey(e.Chat.Key(), id), nil); err != nil {
			return err
		}
		if e.BatchID != "" {
			if err := tx.Bucket(bBatches).Put(idKey(e.BatchID, id), nil); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bStates).Put(idKey(string(Pending), id), nil); err != nil {
			return err
		}
		out = e
		return bump(tx, Pending, 1)
	})
	if err != nil {
		return Entry{}, fmt.Errorf("ledger append: %w", err)
	}
	return out, nil
}

func getEntry(tx *bolt.Tx, id uint64) (Entry, error) {
	v := tx.Bucket(bEntries).Get(be64(id))
	if v == nil {
		return Entry{}, &NotFoundError{fmt.Sprintf("entry %d", id)}
	}
	return decodeEntry(v)
}

// putEntry writes an entry and, once it has a processQueryKey, its copy in
// the key index. The key index covers the entry so that looking up by key
// (a recall of 10,000 keys) takes one B+tree search per key, not two; the
// price is one more value written per transition of a sent message.
func putEntry(tx *bolt.Tx, e Entry) error {
	enc := encodeEntry(e)
	if err := tx.Bucket(bEntries).Put(be64(e.ID), enc); err != nil {
		return err
	}
	if e.ProcessQueryKey == "" {
		return nil
	}
	return tx.Bucket(bKeys).Put([]byte(e.ProcessQueryKey), append(be64(e.ID), enc...))
}

// keyEntry reads a key index value: the entry it covers, or, for a value
// holding only the ID, the entry itself.
func keyEntry(tx *bolt.Tx, v []byte) (Entry, error) {
	if len(v) > 8 {
		return decodeEntry(v[8:])
	}
	if len(v) < 8 {
		return Entry{}, errCorrupt
	}
	return getEntry(tx, binary.BigEndian.Uint64(v))
}

// putChanged writes e (whose previous version is old) and keeps every index
// in step with the change.
func putChanged(tx *bolt.Tx, old, e Entry) error {
	if err := putEntry(tx, e); err != nil {
		return err
	}
	if old.State != e.State {
		if tracked(old.State) {
			if err := tx.Bucket(bStates).Delete(idKey(string(old.State), e.ID)); err != nil {
				return err
			}
		}
		if tracked(e.State) {
			if err := tx.Bucket(bStates).Put(idKey(string(e.State), e.ID), nil); err != nil {
				return err
			}
		}
		if err := bump(tx, old.State, -1); err != nil {
			return err
		}
		if err := bump(tx, e.State, 1); err != nil {
			return err
		}
	}
	if !e.ExpiresAt.IsZero() {
		k := expiryKey(e.ExpiresAt, e.ID)
		if e.State.Recallable() {
			return tx.Bucket(bExpiries).Put(k, nil)
		}
		return tx.Bucket(bExpiries).Delete(k)
	}
	return nil
}

// Transition changes an entry's state.
func (s *Bolt) Transition(ctx context.Context, id uint64, t Transition) (Entry, error) {
	es, errs, err := s.TransitionAll(ctx, []Change{{ID: id, Transition: t}})
	if err != nil {
		return Entry{}, err
	}
	return es[0], errs[0]
}

// TransitionAll applies many transitions in one transaction.
func (s *Bolt) TransitionAll(ctx context.Context, changes []Change) ([]Entry, []error, error) {
	out := make([]Entry, len(changes))
	errs := make([]error, len(changes))
	err := s.update(func(tx *bolt.Tx) error {
		for i, c := range changes {
			old, e, changed, err := change(tx, c)
			out[i], errs[i] = e, err
			if changed {
				if err := putChanged(tx, old, e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, errs, err
}

// change applies one transition to the entry as the transaction sees it.
// A processQueryKey can belong to one entry only.
func change(tx *bolt.Tx, c Change) (old, e Entry, changed bool, err error) {
	if old, err = getEntry(tx, c.ID); err != nil {
		return old, old, false, err
	}
	if e, changed, err = apply(old, c.Transition); err != nil || !changed {
		return old, e, false, err
	}
	if e.ProcessQueryKey != "" && old.ProcessQueryKey == "" {
		if other := tx.Bucket(bKeys).Get([]byte(e.ProcessQueryKey)); other != nil {
			return old, old, false, fmt.Errorf("ledger: processQueryKey already belongs to entry %d", binary.BigEndian.Uint64(other))
		}
	}
	return old, e, true, nil
}

// Link records that newID corrects oldID.
func (s *Bolt) Link(ctx context.Context, oldID, newID uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		o, err := getEntry(tx, oldID)
		if err != nil {
			return err
		}
		n, err := getEntry(tx, newID)
		if err != nil {
			return err
		}
		o.SupersededBy, n.Supersedes = newID, oldID
		if err := putEntry(tx, o); err != nil {
			return err
		}
		return putEntry(tx, n)
	})
}

// Claim moves recallable entries to recalling.
func (s *Bolt) Claim(ctx context.Context, ids []uint64, at time.Time) (claimed, others []Entry, missing []uint64, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		claimed, others, missing = nil, nil, nil
		for _, id := range ids {
			old, err := getEntry(tx, id)
			if errors.Is(err, ErrNotFound) {
				missing = append(missing, id)
				continue
			}
			if err != nil {
				return err
			}
			if !old.State.Recallable() {
				others = append(others, old)
				continue
			}
			e, _, err := apply(old, Transition{To: Recalling, At: at})
			if err != nil {
				return err
			}
			if err := putChanged(tx, old, e); err != nil {
				return err
			}
			claimed = append(claimed, e)
		}
		return nil
	})
	return claimed, others, missing, err
}

// Get returns one entry.
func (s *Bolt) Get(ctx context.Context, id uint64) (Entry, error) {
	var e Entry
	err := s.db.View(func(tx *bolt.Tx) (err error) { e, err = getEntry(tx, id); return err })
	return e, err
}

// ByKey returns the entry with a processQueryKey.
func (s *Bolt) ByKey(ctx context.Context, key string) (Entry, error) {
	var e Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bKeys).Get([]byte(key))
		if v == nil {
			return &NotFoundError{"message with processQueryKey " + key}
		}
		var err error
		e, err = keyEntry(tx, v)
		return err
	})
	return e, err
}

// ByKeys looks up many keys. Keys are looked up in sorted order and entries
// in ID order, so B+tree pages are visited in order, and large lookups are
// split over the CPUs in concurrent read transactions: 10,000 keys in a
// 1M-entry ledger take about 10 ms on two cores. Found entries come back in
// ID (send) order.
func (s *Bolt) ByKeys(ctx context.Context, keys []string) (found []Entry, missing []string, err error) {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted) // a key asked twice is found once
	parts := 1
	if len(sorted) >= 2000 {
		parts = min(runtime.GOMAXPROCS(0), 4)
	}
	type result struct {
		found   []Entry
		missing []string
		err     error
	}
	results := make([]result, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(sorted)/parts, (p+1)*len(sorted)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[p]
			r.err = s.db.View(func(tx *bolt.Tx) error {
				r.found, r.missing, r.err = byKeys(tx, sorted[lo:hi])
				return r.err
			})
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			return nil, nil, r.err
		}
		missing = append(missing, r.missing...)
		found = mergeByID(found, r.found)
	}
	return found, missing, nil
}

// mergeByID merges two lists sorted by ID (each part's lookups come back in
// ID order), copying each entry once rather than sorting the whole.
func mergeByID(a, b []Entry) []Entry {
	if len(a) == 0 {
		return b
	}
	out := make([]Entry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].ID <= b[0].ID {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// byKeys looks up sorted keys in one read transaction and returns their
// entries in ID order.
func byKeys(tx *bolt.Tx, sorted []string) (found []Entry, missing []string, err error) {
	idx := near{c: tx.Bucket(bKeys).Cursor()}
	type hit struct {
		id uint64
		v  []byte // valid for the transaction
	}
	hits := make([]hit, 0, len(sorted))
	for _, k := range sorted {
		ck, v := idx.seek([]byte(k))
		if v == nil || string(ck) != k {
			missing = append(missing, k)
			continue
		}
		if len(v) < 8 {
			return nil, nil, fmt.Errorf("ledger: key index value for %s: %w", k, errCorrupt)
		}
		hits = append(hits, hit{binary.BigEndian.Uint64(v), v})
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.id, b.id) })
	found = make([]Entry, 0, len(hits))
	for _, h := range hits {
		e, err := keyEntry(tx, h.v)
		if err != nil {
			return nil, nil, err
		}
		found = append(found, e)
	}
	return found, missing, nil
}

// near is a cursor for lookups in ascending order. When the next target is
// close (a broadcast's entries have consecutive IDs) it steps there with
// Next instead of searching from the root; when stepping keeps missing
// (targets far apart) it stops trying for a while, so spread lookups pay
// almost nothing for it.
type near struct {
	c     *bolt.Cursor
	at    []byte
	pause int // lookups left before stepping is tried again
}

// nearSteps is how far near walks before it seeks; nearPause is how many
// lookups it seeks directly after a walk that failed.
const (
	nearSteps = 4
	nearPause = 32
)

func (n *near) seek(target []byte) (k, v []byte) {
	if n.at != nil && n.pause == 0 && bytes.Compare(n.at, target) < 0 {
		for range nearSteps {
			if k, v = n.c.Next(); k == nil || bytes.Compare(k, target) >= 0 {
				n.at = k
				return k, v
			}
		}
		n.pause = nearPause
	} else if n.pause > 0 {
		n.pause--
	}
	k, v = n.c.Seek(target)
	n.at = k
	return k, v
}

// walkBack calls fn for each index entry under prefix with an ID below
// before, newest first, until fn returns false.
func walkBack(b *bolt.Bucket, prefix string, before uint64, fn func(id uint64) bool) {
	if before == 0 {
		before = math.MaxUint64
	}
	p := append([]byte(prefix), 0)
	c := b.Cursor()
	k, _ := c.Seek(idKey(prefix, before))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, p) && len(k) == len(p)+8; k, _ = c.Prev() {
		if !fn(binary.BigEndian.Uint64(k[len(p):])) {
			return
		}
	}
}

func wanted(states []State, s State) bool {
	if len(states) == 0 {
		return true
	}
	for _, w := range states {
		if w == s {
			return true
		}
	}
	return false
}

// List returns one chat's entries, newest first.
func (s *Bolt) List(ctx context.Context, q Query) ([]Entry, error) {
	limit := limitOr(q.Limit, 100)
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		entries := tx.Bucket(bEntries)
		var err error
		walkBack(tx.Bucket(bChats), q.Chat.Key(), q.Before, func(id uint64) bool {
			var e Entry
			e, err = decodeEntry(entries.Get(be64(id)))
			if err != nil {
				return false
			}
			if !q.Since.IsZero() && e.SentAt.Before(q.Since) {
				return false
			}
			if q.keep(e) {
				out = append(out, e)
			}
			return len(out) < limit
		})
		return err
	})
	return out, err
}

// Batch returns every entry of one broadcast, in send order.
func (s *Bolt) Batch(ctx context.Context, batchID string) ([]Entry, error) {
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		walkBack(tx.Bucket(bBatches), batchID, 0, func(id uint64) bool {
			var e Entry
			e, err = getEntry(tx, id)
			out = append(out, e)
			return err == nil
		})
		return err
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// Due returns entries whose self-destruct time has come.
func (s *Bolt) Due(ctx context.Context, now time.Time, limit int) ([]Entry, error) {
	limit = limitOr(limit, 100)
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bExpiries).Cursor()
		end := be64(uint64(now.UnixNano()))
		for k, _ := c.First(); k != nil && len(out) < limit && bytes.Compare(k[:8], end) <= 0; k, _ = c.Next() {
			e, err := getEntry(tx, binary.BigEndian.Uint64(k[8:]))
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// InState lists entries in a tracked state, oldest first.
func (s *Bolt) InState(ctx context.Context, st State, limit int) ([]Entry, error) {
	if err := checkTracked(st); err != nil {
		return nil, err
	}
	limit = limitOr(limit, 100)
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		p := append([]byte(st), 0)
		c := tx.Bucket(bStates).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, _ = c.Next() {
			e, err := getEntry(tx, binary.BigEndian.Uint64(k[len(p):]))
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Counts returns the number of entries per state.
func (s *Bolt) Counts(ctx context.Context) (Counts, error) {
	out := Counts{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bCounts).ForEach(func(k, v []byte) error {
			if n := int64(binary.BigEndian.Uint64(v)); n != 0 {
				out[State(k)] = n
			}
			return nil
		})
	})
	return out, err
}

func tempKey(ns, id string) []byte { return append(append([]byte(ns), 0), id...) }

// ClaimOnce reports whether id is claimed in ns for the first time.
func (s *Bolt) ClaimOnce(ctx context.Context, ns, id string, ttl time.Duration) (bool, error) {
	first := false
	err := s.update(func(tx *bolt.Tx) error {
		first = false
		b := tx.Bucket(bTemp)
		k := tempKey(ns, id)
		now := s.now()
		if v := b.Get(k); len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano() {
			return nil
		}
		first = true
		return b.Put(k, be64(uint64(now.Add(ttl).UnixNano())))
	})
	return first, err
}

// PutTemp stores a value for ttl.
func (s *Bolt) PutTemp(ctx context.Context, ns, id string, value []byte, ttl time.Duration) error {
	return s.update(func(tx *bolt.Tx) error {
		v := append(be64(uint64(s.now().Add(ttl).UnixNano())), value...)
		return tx.Bucket(bTemp).Put(tempKey(ns, id), v)
	})
}

// TakeTemp returns a live value and deletes it.
func (s *Bolt) TakeTemp(ctx context.Context, ns, id string) ([]byte, bool, error) {
	var out []byte
	var ok bool
	err := s.update(func(tx *bolt.Tx) error {
		out, ok = nil, false
		b := tx.Bucket(bTemp)
		k := tempKey(ns, id)
		v := b.Get(k)
		if len(v) < 8 {
			return nil
		}
		if int64(binary.BigEndian.Uint64(v)) > s.now().UnixNano() {
			out, ok = append([]byte(nil), v[8:]...), true
		}
		return b.Delete(k)
	})
	return out, ok, err
}

// AppendAudit appends a record to the audit trail.
func (s *Bolt) AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	if r.At.IsZero() {
		r.At = s.now()
	}
	var out AuditRecord
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
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

// Audit returns the newest records first.
func (s *Bolt) Audit(ctx context.Context, limit int) ([]AuditRecord, error) {
	limit = limitOr(limit, 20)
	var out []AuditRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
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
		err := s.db.Update(func(tx *bolt.Tx) error {
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
	err := s.db.Update(func(tx *bolt.Tx) error {
		a := tx.Bucket(bAudit).Cursor()
		for k, v := a.First(); k != nil; k, v = a.First() {
			var r AuditRecord
			if json.Unmarshal(v, &r) == nil && !r.At.Before(cutoff) {
				break
			}
			if err := a.Delete(); err != nil {
				return err
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
		{bChats, idKey(e.Chat.Key(), e.ID)},
	}
	if e.ProcessQueryKey != "" {
		dels = append(dels, struct{ b, k []byte }{bKeys, []byte(e.ProcessQueryKey)})
	}
	if e.BatchID != "" {
		dels = append(dels, struct{ b, k []byte }{bBatches, idKey(e.BatchID, e.ID)})
	}
	if !e.ExpiresAt.IsZero() {
		dels = append(dels, struct{ b, k []byte }{bExpiries, expiryKey(e.ExpiresAt, e.ID)})
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
	return s.db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("ledger %s: bbolt check: %w", s.path, errors.Join(errs...))
		}
		counts := Counts{}
		var chatIdx, keyIdx int
		err := tx.Bucket(bEntries).ForEach(func(k, v []byte) error {
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("entry %x: %w", k, err)
			}
			if e.ID != binary.BigEndian.Uint64(k) {
				return fmt.Errorf("entry %x carries id %d", k, e.ID)
			}
			counts[e.State]++
			if _, ok := hasKey(tx.Bucket(bChats), idKey(e.Chat.Key(), e.ID)); !ok {
				return fmt.Errorf("entry %d missing from its chat index", e.ID)
			}
			if e.ProcessQueryKey != "" {
				v := tx.Bucket(bKeys).Get([]byte(e.ProcessQueryKey))
				if len(v) < 8 || binary.BigEndian.Uint64(v) != e.ID {
					return fmt.Errorf("entry %d missing from the key index", e.ID)
				}
				if covered, err := keyEntry(tx, v); err != nil || covered != e {
					return fmt.Errorf("entry %d differs from its copy in the key index", e.ID)
				}
				keyIdx++
			}
			chatIdx++
			return nil
		})
		if err != nil {
			return fmt.Errorf("ledger %s: %w", s.path, err)
		}
		if n := tx.Bucket(bChats).Stats().KeyN; n != chatIdx {
			return fmt.Errorf("ledger %s: chat index has %d entries for %d entries", s.path, n, chatIdx)
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
