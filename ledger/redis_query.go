package ledger

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Get returns one entry.
func (s *Redis) Get(ctx context.Context, id uint64) (Entry, error) { return s.get(ctx, s.c, id) }

// ByKey returns the entry with a processQueryKey.
func (s *Redis) ByKey(ctx context.Context, key string) (Entry, error) {
	id, err := s.c.Get(ctx, s.k("k", key)).Uint64()
	if errors.Is(err, redis.Nil) {
		return Entry{}, &NotFoundError{"message with processQueryKey " + key}
	}
	if err != nil {
		return Entry{}, err
	}
	return s.get(ctx, s.c, id)
}

// ByKeys looks up many keys with two round trips.
func (s *Redis) ByKeys(ctx context.Context, keys []string) (found []Entry, missing []string, err error) {
	if len(keys) == 0 {
		return nil, nil, nil
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	rk := make([]string, len(keys))
	for i, k := range keys {
		rk[i] = s.k("k", k)
	}
	vals, err := s.c.MGet(ctx, rk...).Result()
	if err != nil {
		return nil, nil, err
	}
	var list []uint64
	for i, v := range vals {
		str, ok := v.(string)
		id, perr := strconv.ParseUint(str, 10, 64)
		if !ok || perr != nil {
			missing = append(missing, keys[i])
			continue
		}
		list = append(list, id)
	}
	found, _, err = s.mget(ctx, s.c, list)
	return found, missing, err
}

// List returns one chat's entries, newest first.
func (s *Redis) List(ctx context.Context, q Query) ([]Entry, error) {
	limit := limitOr(q.Limit, 100)
	maxScore := "+inf"
	if q.Before > 0 {
		maxScore = "(" + strconv.FormatUint(q.Before, 10)
	}
	var out []Entry
	page := int64(max(limit, 20))
	for offset := int64(0); ; offset += page {
		members, err := s.c.ZRevRangeByScore(ctx, s.k("c", q.Chat.Key()), &redis.ZRangeBy{Max: maxScore, Min: "-inf", Offset: offset, Count: page}).Result()
		if err != nil {
			return nil, err
		}
		found, _, err := s.mget(ctx, s.c, ids(members))
		if err != nil {
			return nil, err
		}
		for _, e := range found {
			if !q.Since.IsZero() && e.SentAt.Before(q.Since) {
				return out, nil
			}
			if q.keep(e) {
				out = append(out, e)
				if len(out) == limit {
					return out, nil
				}
			}
		}
		if int64(len(members)) < page {
			return out, nil
		}
	}
}

// recentPage is how many IDs one MGET of Recent asks for.
const recentPage = 256

// Recent returns entries of every chat, newest first. IDs come from one
// counter, so it walks them down from the newest, a page per MGET,
// skipping the few that were never written (an abandoned append) or were
// pruned. It stops below the oldest entry still kept: the lowest ID among
// the oldest entries by time (the "all" index), so a pruned ledger is not
// walked to ID 1.
func (s *Redis) Recent(ctx context.Context, before uint64, limit int) ([]Entry, error) {
	limit = limitOr(limit, 100)
	top, err := s.c.Get(ctx, s.k("seq")).Uint64()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if before > 0 && before-1 < top {
		top = before - 1
	}
	oldest, err := s.c.ZRange(ctx, s.k("all"), 0, recentPage-1).Result()
	if err != nil {
		return nil, err
	}
	floor := uint64(0)
	for i, id := range ids(oldest) {
		if i == 0 || id < floor {
			floor = id
		}
	}
	if len(oldest) == 0 {
		return nil, nil
	}
	var out []Entry
	for hi := top; hi >= floor && hi > 0 && len(out) < limit; {
		lo := max(floor, 1)
		if hi-lo+1 > recentPage {
			lo = hi - recentPage + 1
		}
		list := make([]uint64, 0, hi-lo+1)
		for id := hi; id >= lo; id-- {
			list = append(list, id)
		}
		found, _, err := s.mget(ctx, s.c, list)
		if err != nil {
			return nil, err
		}
		out = append(out, found[:min(len(found), limit-len(out))]...)
		hi = lo - 1
	}
	return out, nil
}

// Batch returns every entry of one broadcast, in send order.
func (s *Redis) Batch(ctx context.Context, batchID string) ([]Entry, error) {
	members, err := s.c.ZRange(ctx, s.k("b", batchID), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	found, _, err := s.mget(ctx, s.c, ids(members))
	return found, err
}

// Due returns entries whose self-destruct time has come.
func (s *Redis) Due(ctx context.Context, now time.Time, limit int) ([]Entry, error) {
	members, err := s.c.ZRangeByScore(ctx, s.k("x"), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(limitOr(limit, 100))}).Result()
	if err != nil {
		return nil, err
	}
	found, _, err := s.mget(ctx, s.c, ids(members))
	return found, err
}

// InState lists entries in a tracked state, oldest first.
func (s *Redis) InState(ctx context.Context, st State, limit int) ([]Entry, error) {
	if err := checkTracked(st); err != nil {
		return nil, err
	}
	members, err := s.c.SMembers(ctx, s.k("s", string(st))).Result()
	if err != nil {
		return nil, err
	}
	list := ids(members)
	slices.Sort(list)
	if n := limitOr(limit, 100); len(list) > n {
		list = list[:n]
	}
	found, _, err := s.mget(ctx, s.c, list)
	return found, err
}

// Counts returns the number of entries per state.
func (s *Redis) Counts(ctx context.Context) (Counts, error) {
	m, err := s.c.HGetAll(ctx, s.k("n")).Result()
	if err != nil {
		return nil, err
	}
	out := Counts{}
	for k, v := range m {
		if n, _ := strconv.ParseInt(v, 10, 64); n != 0 {
			out[State(k)] = n
		}
	}
	return out, nil
}
