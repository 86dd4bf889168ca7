package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// An append whose MULTI Redis applied but whose answer was lost (a
// connection cut after EXEC, a primary killed during the WAIT after it) is
// reported failed, so its caller sends nothing; left alone, its entry
// would stay pending as a send in doubt. Append closes such an entry as
// send_failed: at once on a fresh connection, or, while Redis does not
// answer (a failover), after the next append that succeeds.

// maxAbandoned bounds the entries kept to close; beyond it the oldest are
// left pending (they close as unknown after the recall window).
const maxAbandoned = 1000

// abandon closes e, whose append failed, or keeps it to close later.
func (s *Redis) abandon(ctx context.Context, e Entry) {
	if s.closeIfUnsent(ctx, e) == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandoned = append(s.abandoned, e)
	if len(s.abandoned) > maxAbandoned {
		s.abandoned = s.abandoned[len(s.abandoned)-maxAbandoned:]
	}
}

// closeAbandoned closes the entries abandon kept, now that Redis answers.
func (s *Redis) closeAbandoned(ctx context.Context) {
	s.mu.Lock()
	list := s.abandoned
	s.abandoned = nil
	s.mu.Unlock()
	for i, e := range list {
		if err := s.closeIfUnsent(ctx, e); err != nil {
			s.mu.Lock()
			s.abandoned = append(list[i:], s.abandoned...)
			s.mu.Unlock()
			return
		}
	}
}

// closeIfUnsent moves e's entry from pending to send_failed if it is there
// and is e: after a failover the ID may have gone to another entry, which
// is left alone. Missing or moved on already is done too.
func (s *Redis) closeIfUnsent(ctx context.Context, e Entry) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 500*time.Millisecond)
	defer cancel()
	return s.optimistic(ctx, func(tx *redis.Tx) error {
		got, err := s.get(ctx, tx, e.ID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if got.State != Pending || !got.SentAt.Equal(e.SentAt) || got.ContentHash != e.ContentHash || got.Chat != e.Chat || got.Excerpt != e.Excerpt {
			return nil
		}
		failed, _, err := apply(got, Transition{To: SendFailed, Reason: "not sent: the ledger's answer to its append was lost"})
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.queueChange(ctx, p, got, failed)
			return nil
		})
		return err
	}, s.ek(e.ID))
}
