package ledger

import (
	"context"
	"encoding/json"
	"iter"
	"time"

	bolt "go.etcd.io/bbolt"
)

func jobStepsKey(id string, chunk int) []byte { return idKey(id, uint64(chunk)) }

func getJob(tx *bolt.Tx, id string) (Job, error) {
	v := tx.Bucket(bJobs).Get([]byte(id))
	if v == nil {
		return Job{}, &NotFoundError{"broadcast " + id}
	}
	var j Job
	if err := json.Unmarshal(v, &j); err != nil {
		return Job{}, errCorrupt
	}
	return j, nil
}

func putJob(tx *bolt.Tx, j Job) error {
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return tx.Bucket(bJobs).Put([]byte(j.ID), v)
}

// CreateJob records a new broadcast: the job first (creating, which
// reserves its id), then its steps a chunk a commit, then the job running.
// Whatever fails, what was written is taken back.
func (s *Bolt) CreateJob(ctx context.Context, j Job, steps iter.Seq[[]Chat]) (Job, error) {
	j, err := newJob(j)
	if err != nil {
		return Job{}, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bJobs).Get([]byte(j.ID)) != nil {
			return ErrJobExists
		}
		return putJob(tx, j)
	})
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
		return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bJobSteps).Put(jobStepsKey(j.ID, c), v) })
	})
	if err == nil {
		j.Steps, j.Recipients, j.State = n, people, JobRunning
		err = s.update(func(tx *bolt.Tx) error { return putJob(tx, j) })
	}
	if err != nil {
		_ = s.update(func(tx *bolt.Tx) error {
			for c := range chunks {
				if err := tx.Bucket(bJobSteps).Delete(jobStepsKey(j.ID, c)); err != nil {
					return err
				}
			}
			return tx.Bucket(bJobs).Delete([]byte(j.ID))
		})
		return Job{}, err
	}
	return j, nil
}

// GetJob returns a broadcast.
func (s *Bolt) GetJob(ctx context.Context, id string) (Job, error) {
	var j Job
	err := s.view(func(tx *bolt.Tx) (err error) { j, err = getJob(tx, id); return err })
	return j, err
}

// JobSteps returns the targets of steps [from, from+n).
func (s *Bolt) JobSteps(ctx context.Context, id string, from, n int) ([][]Chat, error) {
	var out [][]Chat
	err := s.view(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		for i := from; i < min(from+n, j.Steps); {
			c, at := stepsChunk(i)
			var chunk [][]Chat
			if err := json.Unmarshal(tx.Bucket(bJobSteps).Get(jobStepsKey(id, c)), &chunk); err != nil {
				return errCorrupt
			}
			for ; at < len(chunk) && i < min(from+n, j.Steps); at, i = at+1, i+1 {
				out = append(out, chunk[at])
			}
		}
		return nil
	})
	return out, err
}

// StartStep writes a step ahead, planned.
func (s *Bolt) StartStep(ctx context.Context, id, owner string, step int, e Entry) (Entry, Job, error) {
	var out Entry
	var job Job
	err := s.update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		j, taken, err := startStep(j, owner, step, s.now())
		if err != nil {
			return err
		}
		e, err := stepEntry(e, id, taken)
		if err != nil {
			return err
		}
		if out, err = appendTx(tx, e); err != nil {
			return err
		}
		job = j.openStep(out, taken)
		return putJob(tx, job)
	})
	return out, job, err
}

// DispatchStep marks a planned step dispatched, if its job still runs
// under owner.
func (s *Bolt) DispatchStep(ctx context.Context, id, owner string, entryID uint64) (Job, error) {
	var job Job
	err := s.update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		j, changed, err := dispatchStep(j, owner, entryID, s.now())
		job = j
		if err != nil || !changed {
			return err
		}
		return putJob(tx, j)
	})
	return job, err
}

// SettleStep moves a step's entry on, adds d to its job and closes the
// step. A step settled before changes nothing.
func (s *Bolt) SettleStep(ctx context.Context, id string, entryID uint64, t Transition, d JobDelta) (Entry, Job, error) {
	var out Entry
	var job Job
	err := s.update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		old, e, changed, err := change(tx, Change{ID: entryID, Transition: t})
		if err != nil {
			return err
		}
		out, job = e, j
		if !changed {
			return nil
		}
		if err := putChanged(tx, old, e); err != nil {
			return err
		}
		job = j.settle(entryID, d, s.now())
		return putJob(tx, job)
	})
	return out, job, err
}

// CancelJob cancels a running job and closes its planned steps' entries,
// in one commit.
func (s *Bolt) CancelJob(ctx context.Context, id, by string) (Job, bool, error) {
	var job Job
	var cancelled bool
	err := s.update(func(tx *bolt.Tx) error {
		cancelled = false
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		now := s.now()
		j, planned, changed := j.cancel(by, now)
		job = j
		if !changed {
			return nil
		}
		for _, o := range planned {
			old, err := getEntry(tx, o.Entry)
			if err != nil {
				return err
			}
			e, moved, err := cancelledEntry(old, now)
			if err != nil {
				return err
			}
			if moved {
				if err := putChanged(tx, old, e); err != nil {
					return err
				}
			}
		}
		cancelled = true
		return putJob(tx, j)
	})
	return job, cancelled && err == nil, err
}

// UpdateJob changes a job in one commit.
func (s *Bolt) UpdateJob(ctx context.Context, id string, fn func(*Job) error) (Job, error) {
	var job Job
	err := s.update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		if err := fn(&j); err != nil {
			return err
		}
		j.Updated = norm(s.now())
		job = j
		return putJob(tx, j)
	})
	return job, err
}

// TakeJob makes by.Owner the runner of a job without a live one.
func (s *Bolt) TakeJob(ctx context.Context, id string, by Claimant) (Job, bool, error) {
	var job Job
	var mine bool
	err := s.update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		now := s.now()
		alive := func(owner string) bool { return tempAlive(tx, LeaseNS, owner, now) }
		job, mine = j, j.Owner == by.Owner
		if j.State != JobRunning || (!mine && j.Owner != "" && alive(j.Owner)) {
			return nil
		}
		job, mine = j.takeOver(by.Owner, now), true
		if err := putJob(tx, job); err != nil {
			return err
		}
		return putTemp(tx, LeaseNS, by.Owner, nil, now.Add(by.LeaseTTL))
	})
	return job, mine, err
}

// Jobs lists the broadcasts in a state.
func (s *Bolt) Jobs(ctx context.Context, st JobState) ([]Job, error) {
	var out []Job
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bJobs).ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return errCorrupt
			}
			if j.State == st {
				out = append(out, j)
			}
			return nil
		})
	})
	return out, err
}

// pruneJobs deletes broadcasts created before cutoff and their steps.
func pruneJobs(tx *bolt.Tx, cutoff time.Time) error {
	var old []Job
	err := tx.Bucket(bJobs).ForEach(func(k, v []byte) error {
		var j Job
		if json.Unmarshal(v, &j) == nil && j.Created.Before(cutoff) && j.State != JobRunning {
			old = append(old, j)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, j := range old {
		c := tx.Bucket(bJobSteps).Cursor()
		prefix := append([]byte(j.ID), 0)
		for k, _ := c.Seek(prefix); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bJobs).Delete([]byte(j.ID)); err != nil {
			return err
		}
	}
	return nil
}
