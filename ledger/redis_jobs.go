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
