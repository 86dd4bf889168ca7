package ledger

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestRecord: a send whose pending entry never reached the ledger is
// written sent with its key in one commit; recording the key again, or
// the same once again, writes nothing.
func TestRecord(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		e, first, err := s.Record(ctx, Once{}, Entry{Chat: chatA, Excerpt: "from the spool", ExpiresAt: time.Now().Add(time.Hour)}, Transition{To: Sent, Key: "rk1"})
		if err != nil || !first || e.State != Sent || e.ProcessQueryKey != "rk1" || e.ID == 0 {
			t.Fatalf("Record = %+v %v %v", e, first, err)
		}
		if got, err := s.ByKey(ctx, "rk1"); err != nil || got.ID != e.ID {
			t.Errorf("ByKey = %+v %v", got, err)
		}
		if due, _ := s.Due(ctx, time.Now().Add(2*time.Hour), 10); len(due) != 1 {
			t.Errorf("the recorded self-destruct is not due: %+v", due)
		}
		again, first, err := s.Record(ctx, Once{}, Entry{Chat: chatA, Excerpt: "from the spool"}, Transition{To: Sent, Key: "rk1"})
		if err != nil || first || again.ID != e.ID {
			t.Errorf("the same key again = %+v %v %v", again, first, err)
		}
		once := Once{NS: "spool", ID: "42", TTL: time.Hour}
		p, first, err := s.Record(ctx, once, Entry{Chat: chatB, Excerpt: "intent"}, Transition{})
		if err != nil || !first || p.State != Pending {
			t.Fatalf("Record of an intent = %+v %v %v", p, first, err)
		}
		if _, first, err := s.Record(ctx, once, Entry{Chat: chatB, Excerpt: "intent"}, Transition{}); err != nil || first {
			t.Errorf("the same once again: %v %v", first, err)
		}
		if ok, _ := s.ClaimOnce(ctx, "spool", "42", time.Hour); ok {
			t.Error("Record did not claim its once")
		}
		var te *TransitionError
		if _, _, err := s.Record(ctx, Once{}, Entry{Chat: chatA}, Transition{To: Recalled}); !errors.As(err, &te) {
			t.Errorf("a transition a new entry cannot take: %v", err)
		}
		if c, _ := s.Counts(ctx); c[Sent] != 1 || c[Pending] != 1 || c.Total() != 2 {
			t.Errorf("counts = %v", c)
		}
		if err := s.Sync(ctx); err != nil {
			t.Error(err)
		}
	})
}

// interrupting is a ReplayTarget that stops after its n-th call has
// reached the store, as a process killed (or a connection cut) between
// two writes would: that call's effect stays, the replay goes no further.
type interrupting struct {
	ReplayTarget
	calls, n int
}

var errInterrupted = errors.New("interrupted")

func (x *interrupting) step() error {
	x.calls++
	if x.calls == x.n {
		return errInterrupted
	}
	return nil
}

func (x *interrupting) Record(ctx context.Context, once Once, e Entry, t Transition) (Entry, bool, error) {
	out, first, err := x.ReplayTarget.Record(ctx, once, e, t)
	if err == nil {
		err = x.step()
	}
	return out, first, err
}

func (x *interrupting) Transition(ctx context.Context, id uint64, t Transition) (Entry, error) {
	out, err := x.ReplayTarget.Transition(ctx, id, t)
	if err == nil || errors.Is(err, ErrNotFound) {
		if serr := x.step(); serr != nil {
			err = serr
		}
	}
	return out, err
}

func (x *interrupting) ByKey(ctx context.Context, key string) (Entry, error) {
	out, err := x.ReplayTarget.ByKey(ctx, key)
	if err == nil || errors.Is(err, ErrNotFound) {
		if serr := x.step(); serr != nil {
			err = serr
		}
	}
	return out, err
}

// TestReplayInterruptedAnywhere: a spool replay cut short after any of its
// writes, then run again, leaves each key recorded once and no pending
// entry but the one the spool says is in doubt. Before Record, a replay
// cut between appending an entry and recording its key left a pending
// entry that the next replay duplicated, and one cut between claiming an
// intent and appending it lost the intent.
func TestReplayInterruptedAnywhere(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		for n := 1; ; n++ {
			sp, err := OpenSpool(filepath.Join(t.TempDir(), "s.spool"))
			if err != nil {
				t.Fatal(err)
			}
			tag := fmt.Sprintf("n%d-", n)
			lost := Entry{ID: 1 << 40, Chat: chatA, Excerpt: "its entry was lost"} // an ID the ledger never gave
			_ = sp.Add(SpoolRecord{Seq: 1, Entry: lost, Key: tag + "lost"})
			_ = sp.Add(SpoolRecord{Seq: 2, Entry: Entry{Chat: chatA, Excerpt: "never reached the ledger"}})
			_ = sp.Add(SpoolRecord{Seq: 2, Entry: Entry{Chat: chatA, Excerpt: "never reached the ledger"}, Key: tag + "intent"})
			_ = sp.Add(SpoolRecord{Seq: uint64(1000 + n), Entry: Entry{Chat: chatB, Excerpt: tag + "stopped mid-send"}})
			before, _ := s.Counts(ctx)
			x := &interrupting{ReplayTarget: s, n: n}
			_, err = sp.Replay(ctx, x)
			interrupted := errors.Is(err, errInterrupted)
			if err != nil && !interrupted {
				t.Fatalf("n=%d: %v", n, err)
			}
			if _, err := sp.Replay(ctx, s); err != nil {
				t.Fatalf("n=%d, the second replay: %v", n, err)
			}
			after, _ := s.Counts(ctx)
			if got := after[Sent] - before[Sent]; got != 2 {
				t.Errorf("n=%d: %d entries sent, want 2 (one per key)", n, got)
			}
			if got := after[Pending] - before[Pending]; got != 1 {
				t.Errorf("n=%d: %d pending entries, want 1 (the send in doubt)", n, got)
			}
			for _, k := range []string{"lost", "intent"} {
				if _, err := s.ByKey(ctx, tag+k); err != nil {
					t.Errorf("n=%d: key %s: %v", n, k, err)
				}
			}
			_ = sp.Close()
			if !interrupted {
				break // every write has been the last one once
			}
		}
		if err := s.Check(ctx); err != nil {
			t.Error(err)
		}
	})
}
