package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys of broadcasts: j:<id> (the Job as JSON), js:<id>:<chunk> (its
// steps), jobs:<state> (the ids in each state).

func (s *Redis) jk(id string) string             { return s.k("j", id) }
func (s *Redis) jsk(id string, chunk int) string { return s.k("js", id, strconv.Itoa(chunk)) }
func (s *Redis) jstate(st JobState) string       { return s.k("jobs", string(st)) }

func (s *Redis) getJob(ctx context.Context, c redis.Cmdable, id string) (Job, error) {
	b, err := c.Get(ctx, s.jk(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Job{}, &NotFoundError{"broadcast " + id}
	}
	if err != nil {
		return Job{}, err
	}
	var j Job
	if json.Unmarshal(b, &j) != nil {
		return Job{}, errCorrupt
	}
	return j, nil
}

// queueJob writes j (whose stored state was was) to a MULTI.
func (s *Redis) queueJob(ctx context.Context, p redis.Pipeliner, j Job, was JobState) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	p.Set(ctx, s.jk(j.ID), b, 0)
	if was != j.State {
		if was != "" {
			p.SRem(ctx, s.jstate(was), j.ID)
		}
		p.SAdd(ctx, s.jstate(j.State), j.ID)
	}
	return nil
}

// CreateJob records a new broadcast: the job first (creating, which
// reserves its id), then its steps a chunk at a time, then the job running,
// waited for by the replicas (MinReplicas). Whatever fails, what was
// written is taken back, so a job that was refused never runs.
func (s *Redis) CreateJob(ctx context.Context, j Job, steps iter.Seq[[]Chat]) (Job, error) {
	j, err := newJob(j)
	if err != nil {
		return Job{}, err
	}
	err = s.optimistic(ctx, func(tx *redis.Tx) error {
		if n, err := tx.Exists(ctx, s.jk(j.ID)).Result(); err != nil || n > 0 {
			if err == nil {
				err = ErrJobExists
			}
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return s.queueJob(ctx, p, j, "") })
		return err
	}, s.jk(j.ID))
	if err != nil {
		return Job{}, err
	}
	chunks := 0
	n, people, err := chunkSteps(steps, func(c int, st [][]Chat) error {
		v, err := json.Marshal(st)
		if err != nil {
			return err
		}
		chunks = c + 1
		return s.c.Set(ctx, s.jsk(j.ID, c), v, 0).Err()
	})
	if err == nil {
		j.Steps, j.Recipients, j.State = n, people, JobRunning
		cn := s.c.Conn()
		err = s.commit(ctx, cn, "broadcast", func(p redis.Pipeliner) error { return s.queueJob(ctx, p, j, JobCreating) })
		_ = cn.Close()
	}
	if err != nil {
		s.dropJob(context.WithoutCancel(ctx), j.ID, chunks)
		return Job{}, err
	}
	return j, nil
}

// dropJob deletes a job CreateJob could not finish, and its steps. Best
// effort: a job left creating never runs, and is pruned.
func (s *Redis) dropJob(ctx context.Context, id string, chunks int) {
	keys := []string{s.jk(id)}
	for c := range chunks {
		keys = append(keys, s.jsk(id, c))
	}
	_, _ = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, keys...)
		p.SRem(ctx, s.jstate(JobCreating), id)
		p.SRem(ctx, s.jstate(JobRunning), id)
		return nil
	})
}

// GetJob returns a broadcast.
func (s *Redis) GetJob(ctx context.Context, id string) (Job, error) { return s.getJob(ctx, s.c, id) }

// JobSteps returns the targets of steps [from, from+n).
func (s *Redis) JobSteps(ctx context.Context, id string, from, n int) ([][]Chat, error) {
	j, err := s.getJob(ctx, s.c, id)
	if err != nil {
		return nil, err
	}
	var out [][]Chat
	for i := from; i < min(from+n, j.Steps); {
		c, at := stepsChunk(i)
		b, err := s.c.Get(ctx, s.jsk(id, c)).Bytes()
		if err != nil {
			return nil, fmt.Errorf("broadcast %s, steps %d: %w", id, c, err)
		}
		var chunk [][]Chat
		if json.Unmarshal(b, &chunk) != nil {
			return nil, errCorrupt
		}
		for ; at < len(chunk) && i < min(from+n, j.Steps); at, i = at+1, i+1 {
			out = append(out, chunk[at])
		}
	}
	return out, nil
}

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

// UpdateJob changes a job in one commit.
func (s *Redis) UpdateJob(ctx context.Context, id string, fn func(*Job) error) (Job, error) {
	var job Job
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		j, err := s.getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		was := j.State
		if err := fn(&j); err != nil {
			return err
		}
		j.Updated = norm(time.Now())
		job = j
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return s.queueJob(ctx, p, j, was) })
		return err
	}, s.jk(id))
	return job, err
}

// TakeJob makes by.Owner the runner of a job without a live one, watching
// the job and its runner's lease.
func (s *Redis) TakeJob(ctx context.Context, id string, by Claimant) (Job, bool, error) {
	var job Job
	var mine bool
	err := s.optimistic(ctx, func(tx *redis.Tx) error {
		j, err := s.getJob(ctx, tx, id)
		if err != nil {
			return err
		}
		job, mine = j, j.Owner == by.Owner
		if j.State != JobRunning {
			return nil
		}
		if !mine && j.Owner != "" {
			lease := s.k("t", LeaseNS, j.Owner)
			if err := tx.Watch(ctx, lease).Err(); err != nil {
				return err
			}
			if n, err := tx.Exists(ctx, lease).Result(); err != nil || n > 0 {
				return err // alive: leave it
			}
		}
		j = j.takeOver(by.Owner, time.Now())
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.k("t", LeaseNS, by.Owner), "", by.LeaseTTL)
			return s.queueJob(ctx, p, j, j.State)
		})
		if err == nil {
			job, mine = j, true
		}
		return err
	}, s.jk(id))
	return job, mine, err
}

// Jobs lists the broadcasts in a state.
func (s *Redis) Jobs(ctx context.Context, st JobState) ([]Job, error) {
	ids, err := s.c.SMembers(ctx, s.jstate(st)).Result()
	if err != nil {
		return nil, err
	}
	var out []Job
	for _, id := range ids {
		j, err := s.getJob(ctx, s.c, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// pruneJobs deletes finished broadcasts created before cutoff, and those a
// crash left creating (their chunks, written in order, end at the first
// one missing).
func (s *Redis) pruneJobs(ctx context.Context, cutoff time.Time) error {
	for _, st := range []JobState{JobDone, JobCancelled, JobCreating} {
		jobs, err := s.Jobs(ctx, st)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if !j.Created.Before(cutoff) {
				continue
			}
			keys := []string{s.jk(j.ID)}
			for c := 0; c*stepChunk < j.Steps; c++ {
				keys = append(keys, s.jsk(j.ID, c))
			}
			for c := 0; st == JobCreating; c++ {
				if n, err := s.c.Exists(ctx, s.jsk(j.ID, c)).Result(); err != nil || n == 0 {
					break
				}
				keys = append(keys, s.jsk(j.ID, c))
			}
			if _, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, keys...)
				p.SRem(ctx, s.jstate(st), j.ID)
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
