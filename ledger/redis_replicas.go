package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replication: Redis acknowledges a write once the primary has it (and,
// with appendfsync always, once it is on the primary's disk). Its replicas
// receive it a moment later, so a failover can promote a replica that
// never had it. With RedisOptions.MinReplicas the writes that matter are
// followed by WAIT on the connection that made them, and one that fewer
// replicas acknowledged is reported as not durable rather than recorded.

// ErrNotDurable is matched by errors.Is for a write the store applied but
// could not make as durable as configured (see RedisOptions.MinReplicas).
// A caller treats it as a ledger outage: a key goes to the spool, whose
// replay is idempotent. It is deliberately not a *TransitionError, which
// the spool would set aside as refused for good.
var ErrNotDurable = errors.New("ledger write not durable")

// NotDurableError says how many replicas acknowledged a write.
type NotDurableError struct {
	Op        string // what was written: "append", "transition", ...
	Want, Got int
	Timeout   time.Duration
}

func (e *NotDurableError) Error() string {
	return fmt.Sprintf("ledger %s: %d of the %d replicas required acknowledged it within %s; a failover could lose it",
		e.Op, e.Got, e.Want, e.Timeout)
}

// Is makes errors.Is(err, ErrNotDurable) match.
func (e *NotDurableError) Is(target error) bool { return target == ErrNotDurable }

// conn is one connection to Redis (a *redis.Tx or a *redis.Conn): a write
// and the WAIT for it must share one, since WAIT covers what its own
// connection wrote.
type conn interface {
	redis.Cmdable
	Wait(ctx context.Context, numReplicas int, timeout time.Duration) *redis.IntCmd
}

// replicated waits, when MinReplicas is set, until that many replicas have
// acknowledged every write made so far on c's connection. The replication
// stream is one ordered log, so an acknowledged write implies every write
// the primary applied before it.
func (s *Redis) replicated(ctx context.Context, c conn, op string) error {
	if s.minReplicas <= 0 {
		return nil
	}
	n, err := c.Wait(ctx, s.minReplicas, s.replicaTimeout).Result()
	if err != nil {
		return fmt.Errorf("ledger %s: waiting for replicas: %w", op, err)
	}
	if int(n) < s.minReplicas {
		return &NotDurableError{Op: op, Want: s.minReplicas, Got: int(n), Timeout: s.replicaTimeout}
	}
	return nil
}

// commit runs the writes fn queues in one MULTI/EXEC on c's connection,
// then waits for the replicas (see replicated).
func (s *Redis) commit(ctx context.Context, c conn, op string, fn func(redis.Pipeliner) error) error {
	if _, err := c.TxPipelined(ctx, fn); err != nil {
		return err
	}
	return s.replicated(ctx, c, op)
}

// settled is what a recording write that turned out to change nothing
// does: the state it found (a key recorded by an earlier try whose WAIT
// fell short) may still be on the primary alone, and WAIT covers only
// what the connection wrote. So it writes a marker and waits for that.
func (s *Redis) settled(ctx context.Context, c conn, op string) error {
	if s.minReplicas <= 0 {
		return nil
	}
	if err := c.Incr(ctx, s.k("sync")).Err(); err != nil {
		return err
	}
	return s.replicated(ctx, c, op)
}

// Sync returns once what the ledger holds now is as durable as its writes
// are: with MinReplicas, once that many replicas have it. The spool's
// replay calls it before it drops a key it finds recorded already.
func (s *Redis) Sync(ctx context.Context) error {
	if s.minReplicas <= 0 {
		return nil
	}
	cn := s.c.Conn()
	defer cn.Close()
	return s.settled(ctx, cn, "sync")
}

// withdraw closes an entry whose append was not durable: the caller sends
// nothing, and were the append to reach the replicas after all, this write
// follows it on the same connection, so no pending entry is left behind
// for a send that never happened. Best effort: it is not waited for.
func (s *Redis) withdraw(ctx context.Context, c conn, e Entry) {
	failed, _, err := apply(e, Transition{To: SendFailed, Reason: "not sent: the ledger could not replicate the entry in time"})
	if err != nil {
		return
	}
	_, _ = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.queueChange(ctx, p, e, failed)
		return nil
	})
}
