package ledger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Get returns one entry.
func (s *Bolt) Get(ctx context.Context, id uint64) (Entry, error) {
	var e Entry
	err := s.view(func(tx *bolt.Tx) (err error) { e, err = getEntry(tx, id); return err })
	return e, err
}

// ByKey returns the entry with a processQueryKey.
func (s *Bolt) ByKey(ctx context.Context, key string) (Entry, error) {
	var e Entry
	err := s.view(func(tx *bolt.Tx) error {
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
			r.err = s.view(func(tx *bolt.Tx) error {
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

// nearSteps is how far near walks before it seeks.
const nearSteps = 4

// nearPause is how many lookups near seeks directly after a walk failed.
const nearPause = 32

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
	err := s.view(func(tx *bolt.Tx) error {
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
	err := s.view(func(tx *bolt.Tx) error {
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
	err := s.view(func(tx *bolt.Tx) error {
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
	err := s.view(func(tx *bolt.Tx) error {
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
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bCounts).ForEach(func(k, v []byte) error {
			if n := int64(binary.BigEndian.Uint64(v)); n != 0 {
				out[State(k)] = n
			}
			return nil
		})
	})
	return out, err
}
