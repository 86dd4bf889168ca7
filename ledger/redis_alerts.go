package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys of alert groups: ag:<id> (the AlertGroup as JSON), agdue (the
// ids of groups with work to do), agall (every id, scored by its last
// change, for pruning), agc:<chat key> (a chat's ids, for lookups by
// prefix: all scored 0, read with ZRANGEBYLEX), agwake (the ids of groups
// with a Wake, scored by it in unix milliseconds) and agkey:<alertKeyOf>
// (the ids of one group key's groups, a set).

func (s *Redis) agk(id string) string { return s.k("ag", id) }
func (s *Redis) agck(c Chat) string   { return s.k("agc", c.Key()) }
func (s *Redis) agdue() string        { return s.k("agdue") }
func (s *Redis) agall() string        { return s.k("agall") }
func (s *Redis) agwake() string       { return s.k("agwake") }
func (s *Redis) agkey(g AlertGroup) string {
	return s.k("agkey", alertKeyOf(g.Source, g.GroupKey))
}
func (s *Redis) leaseKey(o string) string { return s.k("t", LeaseNS, o) }

func (s *Redis) getAlert(ctx context.Context, c redis.Cmdable, id string) (AlertGroup, bool, error) {
	b, err := c.Get(ctx, s.agk(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return AlertGroup{}, false, nil
	}
	if err != nil {
		return AlertGroup{}, false, err
	}
	var g AlertGroup
	if json.Unmarshal(b, &g) != nil {
		return AlertGroup{}, false, errCorrupt
	}
	return g, true, nil
}

func (s *Redis) mustAlert(ctx context.Context, c redis.Cmdable, id string) (AlertGroup, error) {
	g, found, err := s.getAlert(ctx, c, id)
	if err == nil && !found {
		err = &NotFoundError{"alert group " + id}
	}
	return g, err
}

// queueAlert writes g and its indexes to a MULTI.
func (s *Redis) queueAlert(ctx context.Context, p redis.Pipeliner, g AlertGroup) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	p.Set(ctx, s.agk(g.ID), b, 0)
	p.ZAdd(ctx, s.agck(g.Chat), redis.Z{Score: 0, Member: g.ID})
	p.ZAdd(ctx, s.agall(), redis.Z{Score: float64(g.Updated.UnixMilli()), Member: g.ID})
	if g.Due() {
		p.SAdd(ctx, s.agdue(), g.ID)
	} else {
		p.SRem(ctx, s.agdue(), g.ID)
	}
	if w := g.Wake(); !w.IsZero() {
		p.ZAdd(ctx, s.agwake(), redis.Z{Score: float64(w.UnixMilli()), Member: g.ID})
	} else {
		p.ZRem(ctx, s.agwake(), g.ID)
	}
	p.SAdd(ctx, s.agkey(g), g.ID)
	return nil
}

// PutAlert records a notification; the group is watched, so two instances
// taking the same notification at once agree on one version.
func (s *Redis) PutAlert(ctx context.Context, n AlertGroup) (AlertGroup, error) {
	if err := checkAlert(n); err != nil {
		return AlertGroup{}, err
	}
	var out AlertGroup
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		old, found, err := s.getAlert(ctx, tx, n.ID)
		if err != nil {
			return err
		}
		if out = putAlert(old, found, n, time.Now()); out.Stale {
			return nil
		}
		return s.commit(ctx, tx, "alert", func(p redis.Pipeliner) error { return s.queueAlert(ctx, p, out) })
	}, s.agk(n.ID))
	if err != nil {
		return AlertGroup{}, fmt.Errorf("ledger alert: %w", err)
	}
	return out, nil
}

// TakeAlert makes by.Owner the group's worker unless a live owner holds
// it, watching the group and that owner's lease.
func (s *Redis) TakeAlert(ctx context.Context, id string, by Claimant) (AlertGroup, bool, error) {
	var out AlertGroup
	mine := false
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		g, err := s.mustAlert(ctx, tx, id)
		if err != nil {
			return err
		}
		out, mine = g, false
		alive := func(owner string) bool {
			if err != nil {
				return true
			}
			if err = tx.Watch(ctx, s.leaseKey(owner)).Err(); err != nil {
				return true
			}
			var n int64
			n, err = tx.Exists(ctx, s.leaseKey(owner)).Result()
			return err != nil || n > 0
		}
		if !takeAlert(g, by, alive) {
			return err
		}
		g.Owner, g.Updated = by.Owner, norm(time.Now())
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.leaseKey(by.Owner), "", by.LeaseTTL)
			return s.queueAlert(ctx, p, g)
		})
		if err == nil {
			out, mine = g, true
		}
		return err
	}, s.agk(id))
	return out, mine, err
}

// StartAlertSend writes a send ahead: the group is watched, so no other
// instance starts one at the same time.
func (s *Redis) StartAlertSend(ctx context.Context, id, owner string, send AlertSend, e Entry) (AlertGroup, Entry, error) {
	e, err := alertEntry(e, id)
	if err != nil {
		return AlertGroup{}, Entry{}, err
	}
	var out AlertGroup
	var added Entry
	err = s.optimistic(ctx, func(tx *redis.Tx) error {
		g, err := s.mustAlert(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := startAlertSend(g, owner, send, time.Now()); err != nil {
			return err // checked before an id is taken
		}
		seq, err := tx.Incr(ctx, s.k("seq")).Uint64()
		if err != nil {
			return err
		}
		added = e
		added.ID = seq
		send.Entry = seq
		if out, err = startAlertSend(g, owner, send, time.Now()); err != nil {
			return err
		}
		err = s.commit(ctx, tx, "alert send", func(p redis.Pipeliner) error {
			s.queueAppend(ctx, p, added)
			return s.queueAlert(ctx, p, out)
		})
		if errors.Is(err, ErrNotDurable) {
			s.withdraw(ctx, tx, added)
		}
		return err
	}, s.agk(id))
	if err != nil {
		return AlertGroup{}, Entry{}, err
	}
	return out, added, nil
}

// UpdateAlert changes a group, and one of its entries, in one commit.
func (s *Redis) UpdateAlert(ctx context.Context, id, owner string, c *Change, fn func(*AlertGroup) error) (AlertGroup, error) {
	keys := []string{s.agk(id)}
	if c != nil {
		keys = append(keys, s.ek(c.ID))
		if c.Key != "" {
			keys = append(keys, s.k("k", c.Key))
		}
	}
	var out AlertGroup
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		g, err := s.mustAlert(ctx, tx, id)
		if err != nil {
			return err
		}
		if out, err = updateAlert(g, owner, fn, time.Now()); err != nil {
			return err
		}
		var old, e Entry
		changed := false
		if c != nil {
			if old, err = s.get(ctx, tx, c.ID); err != nil {
				return err
			}
			if e, changed, err = apply(old, c.Transition); err != nil {
				return err
			}
			if changed && e.ProcessQueryKey != "" && old.ProcessQueryKey == "" {
				if other, gerr := tx.Get(ctx, s.k("k", e.ProcessQueryKey)).Result(); gerr == nil {
					return &TransitionError{old.ID, old.State, c.To, "its processQueryKey already belongs to entry " + other}
				}
			}
		}
		return s.commit(ctx, tx, "alert update", func(p redis.Pipeliner) error {
			if changed {
				s.queueChange(ctx, p, old, e)
			}
			return s.queueAlert(ctx, p, out)
		})
	}, keys...)
	return out, err
}

// DueAlerts lists groups with work to do.
func (s *Redis) DueAlerts(ctx context.Context, limit int) ([]AlertGroup, error) {
	idList, err := s.c.SRandMemberN(ctx, s.agdue(), int64(limitOr(limit, 100))).Result()
	if err != nil {
		return nil, err
	}
	return s.alertsByID(ctx, idList)
}

// ChatAlerts lists a chat's groups whose id starts with prefix.
func (s *Redis) ChatAlerts(ctx context.Context, chat Chat, prefix string) ([]AlertGroup, error) {
	idList, err := s.c.ZRangeByLex(ctx, s.agck(chat), &redis.ZRangeBy{Min: "[" + prefix, Max: "[" + prefix + "\xff", Count: maxChatAlerts}).Result()
	if err != nil {
		return nil, err
	}
	return s.alertsByID(ctx, idList)
}

// AlertsToWake lists groups whose Wake is at or before at.
func (s *Redis) AlertsToWake(ctx context.Context, at time.Time, limit int) ([]AlertGroup, error) {
	idList, err := s.c.ZRangeByScore(ctx, s.agwake(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(at.UnixMilli(), 10), Count: int64(limitOr(limit, 100))}).Result()
	if err != nil {
		return nil, err
	}
	return s.alertsByID(ctx, idList)
}

// KeyAlerts lists the groups of one source's group key, in every chat.
func (s *Redis) KeyAlerts(ctx context.Context, source, groupKey string) ([]AlertGroup, error) {
	idList, err := s.c.SRandMemberN(ctx, s.agkey(AlertGroup{Source: source, GroupKey: groupKey}), maxKeyAlerts).Result()
	if err != nil {
		return nil, err
	}
	return s.alertsByID(ctx, idList)
}

func (s *Redis) alertsByID(ctx context.Context, idList []string) ([]AlertGroup, error) {
	var out []AlertGroup
	for _, id := range idList {
		g, found, err := s.getAlert(ctx, s.c, id)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, g)
		}
	}
	return out, nil
}

// pruneAlerts deletes closed, idle groups last changed before cutoff.
func (s *Redis) pruneAlerts(ctx context.Context, cutoff time.Time) error {
	max := "(" + strconv.FormatInt(cutoff.UnixMilli(), 10)
	idList, err := s.c.ZRangeByScore(ctx, s.agall(), &redis.ZRangeBy{Min: "-inf", Max: max, Count: pruneStep}).Result()
	if err != nil {
		return err
	}
	for _, id := range idList {
		err := s.optimistic(ctx, func(tx *redis.Tx) error {
			g, found, err := s.getAlert(ctx, tx, id)
			if err != nil || (found && !g.prunable(cutoff)) {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, s.agk(id))
				p.ZRem(ctx, s.agall(), id)
				p.ZRem(ctx, s.agwake(), id)
				if found {
					p.ZRem(ctx, s.agck(g.Chat), id)
					p.SRem(ctx, s.agkey(g), id)
				}
				return nil
			})
			return err
		}, s.agk(id))
		if err != nil {
			return err
		}
	}
	return nil
}
