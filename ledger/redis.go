package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Close closes the connection pool.
func (s *Redis) Close() error { return s.c.Close() }

func (s *Redis) k(parts ...string) string {
	out := s.p
	for i, p := range parts {
		if i > 0 {
			out += ":"
		}
		out += p
	}
	return out
}

func (s *Redis) ek(id uint64) string { return s.k("e", strconv.FormatUint(id, 10)) }

func ids(members []string) []uint64 {
	out := make([]uint64, 0, len(members))
	for _, m := range members {
		if id, err := strconv.ParseUint(m, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// Append writes a new pending entry. The ID and the entry are written on
// one connection, so that the WAIT for the replicas (MinReplicas) covers
// both: an entry the primary alone knew could have its ID handed out again
// after a failover, and a key recorded later would land on another entry.
func (s *Redis) Append(ctx context.Context, e Entry) (Entry, error) {
	e, err := prepare(e)
	if err != nil {
		return Entry{}, err
	}
	cn := s.c.Conn()
	defer cn.Close()
	id, err := cn.Incr(ctx, s.k("seq")).Uint64()
	if err != nil {
		return Entry{}, fmt.Errorf("ledger append: %w", err)
	}
	e.ID = id
	err = s.commit(ctx, cn, "append", func(p redis.Pipeliner) error {
		s.queueAppend(ctx, p, e)
		return nil
	})
	if errors.Is(err, ErrNotDurable) {
		s.withdraw(ctx, cn, e)
		return Entry{}, err
	}
	if err != nil {
		s.abandon(ctx, e)
		return Entry{}, fmt.Errorf("ledger append: %w", err)
	}
	s.closeAbandoned(ctx)
	return e, nil
}

// Record writes, in one commit, a send whose pending entry never reached
// the ledger: e appended and moved by t at once (pending -> sent with its
// key; a zero t leaves it pending). An interruption can therefore never
// leave a pending entry behind that a later replay would duplicate. A key
// recorded already returns its entry, first false, writing nothing; so
// does a once claimed before (the spool's record of an intent).
func (s *Redis) Record(ctx context.Context, once Once, e Entry, t Transition) (Entry, bool, error) {
	e, err := prepare(e)
	if err != nil {
		return Entry{}, false, err
	}
	var keys []string
	onceKey := ""
	if once.ID != "" {
		onceKey = s.k("t", once.NS, once.ID)
		keys = append(keys, onceKey)
	}
	if t.Key != "" {
		keys = append(keys, s.k("k", t.Key))
	}
	var out Entry
	first := false
	err = s.optimistic(ctx, func(tx *redis.Tx) error {
		out, first = Entry{}, false
		if onceKey != "" {
			if n, err := tx.Exists(ctx, onceKey).Result(); err != nil || n > 0 {
				if err != nil {
					return err
				}
				return s.settled(ctx, tx, "record")
			}
		}
		if t.Key != "" {
			id, err := tx.Get(ctx, s.k("k", t.Key)).Uint64()
			if err == nil {
				if out, err = s.get(ctx, tx, id); err != nil {
					return err
				}
				return s.settled(ctx, tx, "record")
			}
			if !errors.Is(err, redis.Nil) {
				return err
			}
		}
		id, err := tx.Incr(ctx, s.k("seq")).Uint64()
		if err != nil {
			return err
		}
		added := e
		added.ID = id
		done := added
		if t.To != "" {
			var err error
			if done, _, err = apply(added, t); err != nil {
				return err
			}
		}
		out, first = done, true
		return s.commit(ctx, tx, "record", func(p redis.Pipeliner) error {
			if onceKey != "" {
				p.Set(ctx, onceKey, "1", once.TTL)
			}
			s.queueAppend(ctx, p, added)
			if t.To != "" {
				s.queueChange(ctx, p, added, done)
			}
			return nil
		})
	}, keys...)
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger record: %w", err)
	}
	return out, first, nil
}

// queueAppend adds the writes of a new pending entry e (with its ID) to a
// MULTI.
func (s *Redis) queueAppend(ctx context.Context, p redis.Pipeliner, e Entry) {
	m := strconv.FormatUint(e.ID, 10)
	p.Set(ctx, s.ek(e.ID), encodeEntry(e), 0)
	for _, c := range e.Chats() {
		p.ZAdd(ctx, s.k("c", c.Key()), redis.Z{Score: float64(e.ID), Member: m})
	}
	p.ZAdd(ctx, s.k("all"), redis.Z{Score: float64(e.SentAt.UnixMilli()), Member: m})
	if e.BatchID != "" {
		p.ZAdd(ctx, s.k("b", e.BatchID), redis.Z{Score: float64(e.ID), Member: m})
	}
	p.SAdd(ctx, s.k("s", string(Pending)), m)
	p.HIncrBy(ctx, s.k("n"), string(Pending), 1)
}

// queueChange adds the writes for old -> e to a MULTI.
func (s *Redis) queueChange(ctx context.Context, p redis.Pipeliner, old, e Entry) {
	m := strconv.FormatUint(e.ID, 10)
	p.Set(ctx, s.ek(e.ID), encodeEntry(e), 0)
	if !slices.Equal(old.Recipients, e.Recipients) { // a packed key reached fewer
		for _, c := range old.Chats() {
			p.ZRem(ctx, s.k("c", c.Key()), m)
		}
		for _, c := range e.Chats() {
			p.ZAdd(ctx, s.k("c", c.Key()), redis.Z{Score: float64(e.ID), Member: m})
		}
	}
	if old.ProcessQueryKey == "" && e.ProcessQueryKey != "" {
		p.Set(ctx, s.k("k", e.ProcessQueryKey), m, 0)
	}
	if old.State != e.State {
		if tracked(old.State) {
			p.SRem(ctx, s.k("s", string(old.State)), m)
		}
		if tracked(e.State) {
			p.SAdd(ctx, s.k("s", string(e.State)), m)
		}
		p.HIncrBy(ctx, s.k("n"), string(old.State), -1)
		p.HIncrBy(ctx, s.k("n"), string(e.State), 1)
	}
	if old.due() != e.due() || !old.DueAt.Equal(e.DueAt) {
		if e.due() {
			p.ZAdd(ctx, s.k("x"), redis.Z{Score: float64(e.DueAt.UnixMilli()), Member: m})
		} else {
			p.ZRem(ctx, s.k("x"), m)
		}
	}
}

// optimistic runs fn under WATCH keys, retrying when another instance
// changed one of them first.
func (s *Redis) optimistic(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error {
	for range 50 {
		err := s.c.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return errors.New("ledger: too much contention on one entry")
}

func (s *Redis) get(ctx context.Context, c redis.Cmdable, id uint64) (Entry, error) {
	b, err := c.Get(ctx, s.ek(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Entry{}, &NotFoundError{fmt.Sprintf("entry %d", id)}
	}
	if err != nil {
		return Entry{}, err
	}
	return decodeEntry(b)
}

// Transition changes an entry's state.
func (s *Redis) Transition(ctx context.Context, id uint64, t Transition) (Entry, error) {
	es, errs, err := s.TransitionAll(ctx, []Change{{ID: id, Transition: t}})
	if err != nil {
		return Entry{}, err
	}
	return es[0], errs[0]
}

// TransitionAll applies many transitions in one MULTI.
func (s *Redis) TransitionAll(ctx context.Context, changes []Change) ([]Entry, []error, error) {
	out := make([]Entry, len(changes))
	errs := make([]error, len(changes))
	if len(changes) == 0 {
		return out, errs, nil
	}
	keys := make([]string, 0, len(changes))
	list := make([]uint64, len(changes))
	for i, c := range changes {
		keys, list[i] = append(keys, s.ek(c.ID)), c.ID
		if c.Key != "" {
			keys = append(keys, s.k("k", c.Key)) // a key can belong to one entry only
		}
	}
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		found, _, err := s.mget(ctx, tx, list)
		if err != nil {
			return err
		}
		byID := make(map[uint64]Entry, len(found))
		for _, e := range found {
			byID[e.ID] = e
		}
		type change struct{ old, e Entry }
		var todo []change
		for i, c := range changes {
			old, ok := byID[c.ID]
			if !ok {
				errs[i] = &NotFoundError{fmt.Sprintf("entry %d", c.ID)}
				continue
			}
			e, changed, err := apply(old, c.Transition)
			if err == nil && changed && e.ProcessQueryKey != "" && old.ProcessQueryKey == "" {
				if other, gerr := tx.Get(ctx, s.k("k", e.ProcessQueryKey)).Result(); gerr == nil {
					e, changed, err = old, false, &TransitionError{old.ID, old.State, c.To, "its processQueryKey already belongs to entry " + other}
				}
			}
			out[i], errs[i] = e, err
			if err == nil && changed {
				todo = append(todo, change{old, e})
				byID[c.ID] = e
			}
		}
		if len(todo) == 0 {
			if slices.Contains(errs, nil) { // done before: make sure it lasts
				return s.settled(ctx, tx, "transition")
			}
			return nil
		}
		return s.commit(ctx, tx, "transition", func(p redis.Pipeliner) error {
			for _, c := range todo {
				s.queueChange(ctx, p, c.old, c.e)
			}
			return nil
		})
	}, keys...)
	return out, errs, err
}

// Link records that newID corrects oldID.
func (s *Redis) Link(ctx context.Context, oldID, newID uint64) error {
	return s.optimistic(ctx, func(tx *redis.Tx) error {
		o, err := s.get(ctx, tx, oldID)
		if err != nil {
			return err
		}
		n, err := s.get(ctx, tx, newID)
		if err != nil {
			return err
		}
		o.SupersededBy, n.Supersedes = newID, oldID
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.ek(oldID), encodeEntry(o), 0)
			p.Set(ctx, s.ek(newID), encodeEntry(n), 0)
			return nil
		})
		return err
	}, s.ek(oldID), s.ek(newID))
}

// mget loads entries by id, skipping missing ones (reported in missing).
func (s *Redis) mget(ctx context.Context, c redis.Cmdable, list []uint64) (found []Entry, missing []uint64, err error) {
	if len(list) == 0 {
		return nil, nil, nil
	}
	keys := make([]string, len(list))
	for i, id := range list {
		keys[i] = s.ek(id)
	}
	vals, err := c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, nil, err
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			missing = append(missing, list[i])
			continue
		}
		e, err := decodeEntry([]byte(str))
		if err != nil {
			return nil, nil, fmt.Errorf("entry %d: %w", list[i], err)
		}
		found = append(found, e)
	}
	return found, missing, nil
}

// Claim moves recallable entries to recalling.
func (s *Redis) Claim(ctx context.Context, list []uint64, by Claimant) (claimed, others []Entry, missing []uint64, err error) {
	_, claimed, others, missing, err = s.ClaimFor(ctx, Once{}, list, by)
	return claimed, others, missing, err
}

// ClaimFor claims entries for a one-time request in one MULTI, watching
// the request's record so that two instances cannot both take it.
func (s *Redis) ClaimFor(ctx context.Context, once Once, list []uint64, by Claimant) (first bool, claimed, others []Entry, missing []uint64, err error) {
	keys := make([]string, 0, len(list)+1)
	for _, id := range list {
		keys = append(keys, s.ek(id))
	}
	onceKey := ""
	if once.ID != "" {
		onceKey = s.k("t", once.NS, once.ID)
		keys = append(keys, onceKey)
	}
	if len(keys) == 0 {
		return true, nil, nil, nil, nil
	}
	err = s.optimistic(ctx, func(tx *redis.Tx) error {
		first, claimed, others, missing = false, nil, nil, nil
		if onceKey != "" {
			n, err := tx.Exists(ctx, onceKey).Result()
			if err != nil || n > 0 {
				return err
			}
		}
		first = true
		found, miss, err := s.mget(ctx, tx, list)
		if err != nil {
			return err
		}
		missing = miss
		type change struct{ old, e Entry }
		var changes []change
		for _, old := range found {
			if !old.State.Recallable() {
				others = append(others, old)
				continue
			}
			e, err := claim(old, by)
			if err != nil {
				return err
			}
			changes = append(changes, change{old, e})
			claimed = append(claimed, e)
		}
		if len(changes) == 0 && onceKey == "" {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if onceKey != "" {
				p.Set(ctx, onceKey, "1", once.TTL)
			}
			if len(changes) > 0 && by.Owner != "" {
				p.Set(ctx, s.k("t", LeaseNS, by.Owner), "", by.LeaseTTL)
			}
			for _, c := range changes {
				s.queueChange(ctx, p, c.old, c.e)
			}
			return nil
		})
		return err
	}, keys...)
	return first, claimed, others, missing, err
}

// TakeOver moves lapsed claims to by.Owner. It watches the entries and
// their owners' leases, so a renewal or another takeover between the read
// and the write makes it start over.
func (s *Redis) TakeOver(ctx context.Context, list []uint64, by Claimant, staleBefore time.Time) ([]Entry, error) {
	if len(list) == 0 {
		return nil, nil
	}
	keys := make([]string, len(list))
	for i, id := range list {
		keys[i] = s.ek(id)
	}
	var taken []Entry
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		taken = nil
		found, _, err := s.mget(ctx, tx, list)
		if err != nil {
			return err
		}
		owners := map[string]bool{}
		for _, e := range found {
			if e.State == Recalling && e.ClaimedBy != "" {
				owners[e.ClaimedBy] = false
			}
		}
		for o := range owners {
			if err := tx.Watch(ctx, s.k("t", LeaseNS, o)).Err(); err != nil {
				return err
			}
			n, err := tx.Exists(ctx, s.k("t", LeaseNS, o)).Result()
			if err != nil {
				return err
			}
			owners[o] = n > 0
		}
		alive := func(o string) bool { return owners[o] }
		for _, e := range found {
			if lapsed(e, alive, staleBefore) && e.ClaimedBy != by.Owner {
				e.ClaimedBy, e.UpdatedAt = by.Owner, norm(by.At)
				taken = append(taken, e)
			}
		}
		if len(taken) == 0 {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, e := range taken {
				p.Set(ctx, s.ek(e.ID), encodeEntry(e), 0)
			}
			p.Set(ctx, s.k("t", LeaseNS, by.Owner), "", by.LeaseTTL)
			return nil
		})
		return err
	}, keys...)
	return taken, err
}

// Reschedule sets an entry's next self-destruct try.
func (s *Redis) Reschedule(ctx context.Context, id uint64, at time.Time) error {
	return s.optimistic(ctx, func(tx *redis.Tx) error {
		old, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		e := old
		e.DueAt = norm(at)
		if old.DueAt.Equal(e.DueAt) {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.queueChange(ctx, p, old, e)
			return nil
		})
		return err
	}, s.ek(id))
}
