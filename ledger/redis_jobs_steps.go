package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The steps of a broadcast in Redis: each change is one MULTI under WATCH
// of the job (and the entries it touches), waited for by the replicas
// where MinReplicas asks it.

// StartStep writes a step ahead, planned: the job is watched, so another
// instance cannot take the same step. A step whose commit the replicas did
// not acknowledge is taken back (unstartStep): the caller tries it again
// later, and nothing of it is sent meanwhile.
func (s *Redis) StartStep(ctx context.Context, id, owner string, step int, e Entry) (Entry, Job, error) {
	var out Entry
	var job Job
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		j, err := s.getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		was := j.State
		j, taken, err := startStep(j, owner, step, time.Now())
		if err != nil {
			return err
		}
		e, err := stepEntry(e, id, taken)
		if err != nil {
			return err
		}
		seq, err := tx.Incr(ctx, s.k("seq")).Uint64()
		if err != nil {
			return err
		}
		e.ID = seq
		out, job = e, j.openStep(e, taken)
		return s.commit(ctx, tx, "step", func(p redis.Pipeliner) error {
			s.queueAppend(ctx, p, e)
			return s.queueJob(ctx, p, job, was)
		})
	}, s.jk(id))
	if errors.Is(err, ErrNotDurable) {
		s.unstartStep(context.WithoutCancel(ctx), id, step, out)
	}
	return out, job, err
}

// unstartStep takes back a step whose write ahead was not durable: its
// entry is deleted and the job goes back to before it, so the step is
// neither sent nor counted, and is taken again once the replicas answer.
// Best effort: a step left behind is planned, never dispatched without a
// durable mark, and sent by whoever runs the job next.
func (s *Redis) unstartStep(ctx context.Context, id string, step int, e Entry) {
	_ = s.optimistic(ctx, func(tx *redis.Tx) error {
		j, err := s.getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		cur, err := s.get(ctx, tx, e.ID)
		if err != nil || cur.State != Pending {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.queueDelete(ctx, p, cur)
			return s.queueJob(ctx, p, j.unstart(step, cur), j.State)
		})
		return err
	}, s.jk(id), s.ek(e.ID))
}

// DispatchStep marks a planned step dispatched, if its job still runs
// under owner; the mark waits for the replicas, and one they did not
// acknowledge is taken back, so no call is made without a durable mark.
func (s *Redis) DispatchStep(ctx context.Context, id, owner string, entryID uint64) (Job, error) {
	var job Job
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		j, err := s.getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		j, changed, err := dispatchStep(j, owner, entryID, time.Now())
		job = j
		if err != nil || !changed {
			return err
		}
		return s.commit(ctx, tx, "dispatch", func(p redis.Pipeliner) error { return s.queueJob(ctx, p, j, j.State) })
	}, s.jk(id))
	if errors.Is(err, ErrNotDurable) {
		_ = s.optimistic(context.WithoutCancel(ctx), func(tx *redis.Tx) error {
			j, err := s.getJob(ctx, tx, id)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return s.queueJob(ctx, p, j.undispatch(entryID), j.State) })
			return err
		}, s.jk(id))
	}
	return job, err
}

// SettleStep moves a step's entry on, adds d to its job and closes the
// step. A step settled before changes nothing.
func (s *Redis) SettleStep(ctx context.Context, id string, entryID uint64, t Transition, d JobDelta) (Entry, Job, error) {
	var out Entry
	var job Job
	keys := []string{s.jk(id), s.ek(entryID)}
	if t.Key != "" {
		keys = append(keys, s.k("k", t.Key))
	}
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		j, err := s.getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		old, err := s.get(ctx, tx, entryID)
		if err != nil {
			return err
		}
		e, changed, err := apply(old, t)
		if err == nil && changed && e.ProcessQueryKey != "" && old.ProcessQueryKey == "" {
			if other, gerr := tx.Get(ctx, s.k("k", e.ProcessQueryKey)).Result(); gerr == nil {
				err = fmt.Errorf("ledger: processQueryKey already belongs to entry %s", other)
			}
		}
		if err != nil {
			return err
		}
		out, job = e, j
		if !changed { // settled before: make sure it lasts
			return s.settled(ctx, tx, "settle")
		}
		job = j.settle(entryID, d, time.Now())
		return s.commit(ctx, tx, "settle", func(p redis.Pipeliner) error {
			s.queueChange(ctx, p, old, e)
			return s.queueJob(ctx, p, job, job.State)
		})
	}, keys...)
	return out, job, err
}

// CancelJob cancels a running job and closes its planned steps' entries,
// in one MULTI under WATCH of the job and those entries.
func (s *Redis) CancelJob(ctx context.Context, id, by string) (Job, bool, error) {
	var job Job
	var cancelled bool
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		j, err := s.getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		now := time.Now()
		job, cancelled = j, false
		cj, planned, changed := j.cancel(by, now)
		if !changed {
			return s.settled(ctx, tx, "cancel")
		}
		type move struct{ old, e Entry }
		var moves []move
		for _, o := range planned {
			if err := tx.Watch(ctx, s.ek(o.Entry)).Err(); err != nil {
				return err
			}
			old, err := s.get(ctx, tx, o.Entry)
			if err != nil {
				return err
			}
			e, moved, err := cancelledEntry(old, now)
			if err != nil {
				return err
			}
			if moved {
				moves = append(moves, move{old, e})
			}
		}
		job = cj
		cancelled = true
		return s.commit(ctx, tx, "cancel", func(p redis.Pipeliner) error {
			for _, m := range moves {
				s.queueChange(ctx, p, m.old, m.e)
			}
			return s.queueJob(ctx, p, cj, JobRunning)
		})
	}, s.jk(id))
	return job, cancelled && err == nil, err
}
