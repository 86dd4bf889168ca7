package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
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
	bExpiries  = []byte("expiries") // dueAt(ns) id -> nil, while due (see Entry.DueAt)
	bStates    = []byte("states")   // state 0x00 id -> nil, for tracked states
	bCounts    = []byte("counts")   // state -> count
	bTemp      = []byte("temp")     // ns 0x00 id -> expiry(ns) value
	bAudit     = []byte("audit")    // id -> JSON, the recall trail
	bAccess    = []byte("access")   // id -> JSON, the access trail (TrailAccess)
	bJobs      = []byte("jobs")     // batch id -> JSON Job
	bJobSteps  = []byte("jobsteps") // batch id 0x00 chunk -> JSON [][]Chat
	bMarks     = []byte("marks")    // set 0x00 id -> nil: small named sets (Mark)
	bChatInfo  = []byte("chatinfo") // chat key -> JSON ChatInfo
	allBuckets = [][]byte{bMeta, bEntries, bChats, bKeys, bBatches, bExpiries, bStates, bCounts, bTemp, bAudit, bAccess, bJobs, bJobSteps, bMarks, bChatInfo}
	// laterBuckets came after schema version 1: a file without them gains
	// them on open.
	laterBuckets = [][]byte{bAccess, bJobs, bJobSteps, bMarks, bChatInfo}

	magicKey   = []byte("magic")
	magicValue = []byte("recallbot-ledger")
	versionKey = []byte("version")
)

// schemaVersion is the ledger format this code writes. Version 1 files
// are upgraded on open (entries of codec version 1 still decode); a newer
// version is refused, so an older recallbot never misreads a newer file.
const schemaVersion = 2

// Bolt is the embedded ledger: one bbolt file, durable when a call returns.
type Bolt struct {
	db       *bolt.DB
	path     string
	now      func() time.Time
	inflight atomic.Int32
}

// ErrLocked is a bbolt ledger another process holds open: a running bot
// (bbolt locks its file while it is open, even against readers).
var ErrLocked = errors.New("locked by another process")

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
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return nil, fmt.Errorf("ledger %s is a directory, not a ledger file; fix ledger.path", path)
	case err == nil && fi.Size() > 0:
		existed = true
		if err := checkBoltFile(path, fi.Size()); err != nil {
			return nil, fmt.Errorf("ledger %s is not a recallbot ledger or is corrupt: %v; move it aside or fix ledger.path", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		if err := checkParent(path); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	probe := &Bolt{path: path}
	var db *bolt.DB
	err = probe.guard(func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:      opts.LockTimeout,
			NoSync:       opts.NoSync,
			FreelistType: bolt.FreelistMapType,
		})
		return err
	})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("ledger %s is %w (another recallbot? several instances need ledger.redis_url)", path, ErrLocked)
	case err != nil && existed:
		return nil, fmt.Errorf("ledger %s is not a recallbot ledger or is corrupt (%v); move it aside or fix ledger.path", path, err)
	case err != nil:
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	probe.db = db
	err = probe.updateNow(func(tx *bolt.Tx) error {
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
		v := meta.Get(versionKey)
		if len(v) != 8 || binary.BigEndian.Uint64(v) > schemaVersion || binary.BigEndian.Uint64(v) == 0 {
			return fmt.Errorf("ledger %s has schema version %x; this recallbot reads versions 1 to %d (is it a newer recallbot's?)", path, v, schemaVersion)
		}
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil && !slices.ContainsFunc(laterBuckets, func(b []byte) bool { return bytes.Equal(b, name) }) {
				return fmt.Errorf("ledger %s is damaged: bucket %s is missing", path, name)
			}
		}
		for _, name := range laterBuckets { // version 2 added the access trail and broadcasts; marks came later
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if binary.BigEndian.Uint64(v) < schemaVersion {
			return meta.Put(versionKey, be64(schemaVersion))
		}
		return nil
	})
	if err == nil && existed {
		err = probe.updateNow(dropLeases)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Bolt{db: db, path: path, now: opts.Now}, nil
}

// dropLeases deletes every lease (LeaseNS) in a file just opened: the file
// is locked by one process at a time, so a lease found in it belongs to a
// process that stopped, and its claims and broadcasts are taken over at
// once rather than when the lease would have lapsed.
func dropLeases(tx *bolt.Tx) error {
	c := tx.Bucket(bTemp).Cursor()
	prefix := tempKey(LeaseNS, "")
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
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
		return s.updateNow(fn)
	}
	return s.guard(func() error { return s.db.Batch(guarded(s.path, fn)) })
}

// updateNow runs fn in a write transaction of its own, guarded.
func (s *Bolt) updateNow(fn func(*bolt.Tx) error) error {
	return s.guard(func() error { return s.db.Update(guarded(s.path, fn)) })
}

// view runs fn in a read transaction, guarded.
func (s *Bolt) view(fn func(*bolt.Tx) error) error {
	return s.guard(func() error { return s.db.View(guarded(s.path, fn)) })
}

// CorruptError is a ledger file whose pages are damaged (a disk fault,
// a copy cut short, a foreign write): bbolt panics on such pages, or
// faults on the memory map. recallbot turns both into this error, so a
// damaged file costs the operations that touch the damage, never the
// process, and the operator hears what to do.
type CorruptError struct {
	Path string
	Why  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("ledger %s is damaged (%s); stop recallbot, move the file aside and restore a backup (new keys wait in the spool)", e.Path, e.Why)
}

// guard runs op with memory faults turned into panics (a damaged page is
// read through the memory map) and any panic into a CorruptError.
func (s *Bolt) guard(op func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &CorruptError{Path: s.path, Why: fmt.Sprint(r)}
		}
	}()
	return op()
}

// guarded wraps a transaction's function the same way, for the goroutine
// that runs it: Batch may run it on bbolt's own.
func guarded(path string, fn func(*bolt.Tx) error) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) (err error) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				err = &CorruptError{Path: path, Why: fmt.Sprint(r)}
			}
		}()
		return fn(tx)
	}
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

func dueKey(t time.Time, id uint64) []byte {
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
	err = s.update(func(tx *bolt.Tx) (err error) {
		out, err = appendTx(tx, e)
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("ledger append: %w", err)
	}
	return out, nil
}

// Record writes, in one transaction, a send whose pending entry never
// reached the ledger: e appended and moved by t (see Store.Record).
func (s *Bolt) Record(ctx context.Context, once Once, e Entry, t Transition) (Entry, bool, error) {
	e, err := prepare(e)
	if err != nil {
		return Entry{}, false, err
	}
	var out Entry
	first := false
	err = s.update(func(tx *bolt.Tx) (err error) {
		out, first = Entry{}, false
		if once.ID != "" && tempAlive(tx, once.NS, once.ID, s.now()) {
			return nil
		}
		if t.Key != "" {
			if v := tx.Bucket(bKeys).Get([]byte(t.Key)); v != nil {
				out, err = keyEntry(tx, v)
				return err
			}
		}
		if once.ID != "" {
			if _, err := claimTemp(tx, once, s.now()); err != nil {
				return err
			}
		}
		added, err := appendTx(tx, e)
		if err != nil {
			return err
		}
		done := added
		if t.To != "" {
			if done, _, err = apply(added, t); err != nil {
				return err
			}
			if err := putChanged(tx, added, done); err != nil {
				return err
			}
		}
		out, first = done, true
		return nil
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger record: %w", err)
	}
	return out, first, nil
}

// Sync returns at once: every commit of the embedded ledger is fsynced.
func (s *Bolt) Sync(context.Context) error { return nil }

// appendTx writes a prepared entry with the next ID, and its indexes.
func appendTx(tx *bolt.Tx, e Entry) (Entry, error) {
	id, err := tx.Bucket(bEntries).NextSequence()
	if err != nil {
		return Entry{}, err
	}
	e.ID = id
	if err := tx.Bucket(bEntries).Put(be64(id), encodeEntry(e)); err != nil {
		return Entry{}, err
	}
	if err := putChats(tx, e); err != nil {
		return Entry{}, err
	}
	if e.BatchID != "" {
		if err := tx.Bucket(bBatches).Put(idKey(e.BatchID, id), nil); err != nil {
			return Entry{}, err
		}
	}
	if err := tx.Bucket(bStates).Put(idKey(string(Pending), id), nil); err != nil {
		return Entry{}, err
	}
	return e, bump(tx, Pending, 1) // not due while pending: putDue indexes it once it is sent
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

// putChats lists e in the index of each chat it is in.
func putChats(tx *bolt.Tx, e Entry) error {
	for _, c := range e.Chats() {
		if err := tx.Bucket(bChats).Put(idKey(c.Key(), e.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

// putChanged writes e (whose previous version is old) and keeps every index
// in step with the change.
func putChanged(tx *bolt.Tx, old, e Entry) error {
	if err := putEntry(tx, e); err != nil {
		return err
	}
	if !slices.Equal(old.Recipients, e.Recipients) { // a packed key reached fewer
		for _, c := range old.Chats() {
			if err := tx.Bucket(bChats).Delete(idKey(c.Key(), e.ID)); err != nil {
				return err
			}
		}
		if err := putChats(tx, e); err != nil {
			return err
		}
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
	return putDue(tx, old, e)
}

// putDue keeps the due index in step with e's DueAt and state.
func putDue(tx *bolt.Tx, old, e Entry) error {
	if old.due() == e.due() && old.DueAt.Equal(e.DueAt) {
		return nil
	}
	if old.due() {
		if err := tx.Bucket(bExpiries).Delete(dueKey(old.DueAt, old.ID)); err != nil {
			return err
		}
	}
	if e.due() {
		return tx.Bucket(bExpiries).Put(dueKey(e.DueAt, e.ID), nil)
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
			return old, old, false, &TransitionError{old.ID, old.State, c.To, fmt.Sprintf("its processQueryKey already belongs to entry %d", binary.BigEndian.Uint64(other))}
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
func (s *Bolt) Claim(ctx context.Context, ids []uint64, by Claimant) (claimed, others []Entry, missing []uint64, err error) {
	_, claimed, others, missing, err = s.ClaimFor(ctx, Once{}, ids, by)
	return claimed, others, missing, err
}

// ClaimFor claims entries for a one-time request, in one transaction.
func (s *Bolt) ClaimFor(ctx context.Context, once Once, ids []uint64, by Claimant) (first bool, claimed, others []Entry, missing []uint64, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		first, claimed, others, missing = false, nil, nil, nil
		if once.ID != "" {
			var err error
			if first, err = claimTemp(tx, once, s.now()); err != nil || !first {
				return err
			}
		}
		first = true
		if len(ids) > 0 && by.Owner != "" {
			if err := putTemp(tx, LeaseNS, by.Owner, nil, s.now().Add(by.LeaseTTL)); err != nil {
				return err
			}
		}
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
			e, err := claim(old, by)
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
	return first, claimed, others, missing, err
}

// TakeOver moves lapsed claims to by.Owner, in one transaction.
func (s *Bolt) TakeOver(ctx context.Context, ids []uint64, by Claimant, staleBefore time.Time) ([]Entry, error) {
	var taken []Entry
	err := s.update(func(tx *bolt.Tx) error {
		taken = nil
		now := s.now()
		alive := func(owner string) bool { return tempAlive(tx, LeaseNS, owner, now) }
		for _, id := range ids {
			old, err := getEntry(tx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !lapsed(old, alive, staleBefore) || old.ClaimedBy == by.Owner {
				continue
			}
			e := old
			e.ClaimedBy, e.UpdatedAt = by.Owner, norm(by.At)
			if err := putEntry(tx, e); err != nil {
				return err
			}
			taken = append(taken, e)
		}
		if len(taken) > 0 && by.Owner != "" {
			return putTemp(tx, LeaseNS, by.Owner, nil, now.Add(by.LeaseTTL))
		}
		return nil
	})
	return taken, err
}

// Reschedule sets an entry's next self-destruct try.
func (s *Bolt) Reschedule(ctx context.Context, id uint64, at time.Time) error {
	return s.update(func(tx *bolt.Tx) error {
		old, err := getEntry(tx, id)
		if err != nil {
			return err
		}
		e := old
		e.DueAt = norm(at)
		if old.DueAt.Equal(e.DueAt) {
			return nil
		}
		if err := putEntry(tx, e); err != nil {
			return err
		}
		return putDue(tx, old, e)
	})
}
