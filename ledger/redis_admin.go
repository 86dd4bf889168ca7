package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClaimOnce reports whether id is claimed in ns for the first time.
//
// The claim holds a token of this call, not a bare flag: go-redis sends a
// command again when its answer is lost (MaxRetries), and a plain SETNX
// retried after it took effect would answer "claimed before" to the very
// call that claimed it; a command would then never run. A retry that
// finds its own token knows the claim is its own.
func (s *Redis) ClaimOnce(ctx context.Context, ns, id string, ttl time.Duration) (bool, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	n, err := claimOnce.Run(ctx, s.c, []string{s.k("t", ns, id)}, hex.EncodeToString(b[:]), ttl.Milliseconds()).Int()
	return n == 1, err
}

// claimOnce sets KEYS[1] to the token ARGV[1] for ARGV[2] ms unless it is
// set; it answers 1 if the key now holds this token.
var claimOnce = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if not v then
  if tonumber(ARGV[2]) > 0 then
    redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  else
    redis.call("SET", KEYS[1], ARGV[1])
  end
  return 1
end
if v == ARGV[1] then return 1 end
return 0
`)

// PutTemp stores a value for ttl.
func (s *Redis) PutTemp(ctx context.Context, ns, id string, value []byte, ttl time.Duration) error {
	return s.c.Set(ctx, s.k("t", ns, id), value, ttl).Err()
}

// TakeTempIf returns a live value and deletes it if take says so, under
// WATCH so that a value changed meanwhile is looked at again.
func (s *Redis) TakeTempIf(ctx context.Context, ns, id string, take func([]byte) bool) (value []byte, found, taken bool, err error) {
	key := s.k("t", ns, id)
	err = s.optimistic(ctx, func(tx *redis.Tx) error {
		value, found, taken = nil, false, false
		b, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		value, found = b, true
		if !take(b) {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, key)
			return nil
		})
		taken = err == nil
		return err
	}, key)
	return value, found, taken, err
}

// auditKey is the sorted set of one trail.
func (s *Redis) auditKey(trail string) (string, error) {
	switch trail {
	case "":
		return s.k("a"), nil
	case TrailAccess:
		return s.k("access"), nil
	}
	return "", fmt.Errorf("ledger: no audit trail %q", trail)
}

// AppendAudit appends a record to its audit trail.
func (s *Redis) AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	key, err := s.auditKey(r.Trail)
	if err != nil {
		return AuditRecord{}, err
	}
	id, err := s.c.Incr(ctx, key+":seq").Uint64()
	if err != nil {
		return AuditRecord{}, err
	}
	r.ID = id
	b, err := json.Marshal(r)
	if err != nil {
		return AuditRecord{}, err
	}
	err = s.c.ZAdd(ctx, key, redis.Z{Score: float64(id), Member: b}).Err()
	return r, err
}

// Mark adds id to the named set.
func (s *Redis) Mark(ctx context.Context, set, id string) error {
	return s.c.SAdd(ctx, s.k("m", set), id).Err()
}

// Unmark removes id from the named set.
func (s *Redis) Unmark(ctx context.Context, set, id string) error {
	return s.c.SRem(ctx, s.k("m", set), id).Err()
}

// Marked lists the named set.
func (s *Redis) Marked(ctx context.Context, set string) ([]string, error) {
	ids, err := s.c.SMembers(ctx, s.k("m", set)).Result()
	slices.Sort(ids)
	return ids, err
}

// SetAuditNote rewrites the note of a record of the recall trail: a
// cancel's record once the calls it left in flight have landed.
func (s *Redis) SetAuditNote(ctx context.Context, id uint64, note string) error {
	key := s.k("a")
	score := strconv.FormatUint(id, 10)
	vals, err := s.c.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: score, Max: score}).Result()
	if err != nil {
		return err
	}
	if len(vals) == 0 {
		return &NotFoundError{fmt.Sprintf("audit record %d", id)}
	}
	var r AuditRecord
	if err := json.Unmarshal([]byte(vals[0]), &r); err != nil {
		return fmt.Errorf("ledger: corrupt audit record %d: %w", id, err)
	}
	r.Note = note
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, score, score)
		p.ZAdd(ctx, key, redis.Z{Score: float64(id), Member: b})
		return nil
	})
	return err
}

// Audit returns the newest records of a trail first.
func (s *Redis) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	key, err := s.auditKey(q.Trail)
	if err != nil {
		return nil, err
	}
	vals, err := s.c.ZRevRange(ctx, key, 0, int64(limitOr(q.Limit, 20))-1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]AuditRecord, 0, len(vals))
	for _, v := range vals {
		var r AuditRecord
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("ledger: corrupt audit record: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Prune deletes what is older than cutoff, pruneStep entries at a time.
// Temporary values expire by themselves (Redis TTLs).
func (s *Redis) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	max := "(" + strconv.FormatInt(cutoff.UnixMilli(), 10)
	for {
		members, err := s.c.ZRangeByScore(ctx, s.k("all"), &redis.ZRangeBy{Min: "-inf", Max: max, Count: pruneStep}).Result()
		if err != nil {
			return total, err
		}
		if len(members) == 0 {
			break
		}
		for _, id := range ids(members) {
			err := s.optimistic(ctx, func(tx *redis.Tx) error {
				e, err := s.get(ctx, tx, id)
				if errors.Is(err, ErrNotFound) {
					return tx.ZRem(ctx, s.k("all"), strconv.FormatUint(id, 10)).Err()
				}
				if err != nil {
					return err
				}
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					s.queueDelete(ctx, p, e)
					return nil
				})
				return err
			}, s.ek(id))
			if err != nil {
				return total, fmt.Errorf("ledger prune: %w", err)
			}
			total++
		}
	}
	if err := s.pruneJobs(ctx, cutoff); err != nil {
		return total, err
	}
	if err := s.pruneAlerts(ctx, cutoff); err != nil {
		return total, err
	}
	// Audit records are scored by id, so in time order: drop the oldest
	// while they are older than cutoff.
	for _, key := range []string{s.k("a"), s.k("access")} {
		for {
			vals, err := s.c.ZRange(ctx, key, 0, pruneStep-1).Result()
			if err != nil {
				return total, err
			}
			var old []any
			for _, m := range vals {
				var r AuditRecord
				if json.Unmarshal([]byte(m), &r) == nil && !r.At.Before(cutoff) {
					break
				}
				old = append(old, m)
			}
			if len(old) > 0 {
				if err := s.c.ZRem(ctx, key, old...).Err(); err != nil {
					return total, err
				}
			}
			if len(old) < pruneStep {
				break
			}
		}
	}
	return total, nil
}

func (s *Redis) queueDelete(ctx context.Context, p redis.Pipeliner, e Entry) {
	m := strconv.FormatUint(e.ID, 10)
	p.Del(ctx, s.ek(e.ID))
	for _, c := range e.Chats() {
		p.ZRem(ctx, s.k("c", c.Key()), m)
	}
	p.ZRem(ctx, s.k("all"), m)
	if e.ProcessQueryKey != "" {
		p.Del(ctx, s.k("k", e.ProcessQueryKey))
	}
	if e.BatchID != "" {
		p.ZRem(ctx, s.k("b", e.BatchID), m)
	}
	p.ZRem(ctx, s.k("x"), m)
	if tracked(e.State) {
		p.SRem(ctx, s.k("s", string(e.State)), m)
	}
	p.HIncrBy(ctx, s.k("n"), string(e.State), -1)
}

// Check verifies that every entry decodes and that indexes and counters
// agree with the entries.
func (s *Redis) Check(ctx context.Context) error {
	members, err := s.c.ZRange(ctx, s.k("all"), 0, -1).Result()
	if err != nil {
		return err
	}
	counts := Counts{}
	list := ids(members)
	for i := 0; i < len(list); i += 1000 {
		found, missing, err := s.mget(ctx, s.c, list[i:min(i+1000, len(list))])
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("ledger redis: index lists entry %d, which is missing", missing[0])
		}
		for _, e := range found {
			counts[e.State]++
			for _, c := range e.Chats() {
				if _, err := s.c.ZScore(ctx, s.k("c", c.Key()), strconv.FormatUint(e.ID, 10)).Result(); err != nil {
					return fmt.Errorf("ledger redis: entry %d missing from the index of chat %s", e.ID, c.Key())
				}
			}
			if e.ProcessQueryKey != "" {
				if id, err := s.c.Get(ctx, s.k("k", e.ProcessQueryKey)).Uint64(); err != nil || id != e.ID {
					return fmt.Errorf("ledger redis: entry %d missing from the key index", e.ID)
				}
			}
		}
	}
	stored, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	for _, st := range States {
		if stored[st] != counts[st] {
			return fmt.Errorf("ledger redis: counter %s is %d, entries say %d", st, stored[st], counts[st])
		}
	}
	return nil
}
