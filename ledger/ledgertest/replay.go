package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/recallbot/recallbot/ledger"
)

// interrupting is a ReplayTarget that stops after its n-th call has
// reached the store, as a process killed (or a connection cut) between
// two writes would: that call's effect stays, the replay goes no further.
type interrupting struct {
	ledger.ReplayTarget
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

func (x *interrupting) Record(ctx context.Context, once ledger.Once, e ledger.Entry, t ledger.Transition) (ledger.Entry, bool, error) {
	out, first, err := x.ReplayTarget.Record(ctx, once, e, t)
	if err == nil {
		err = x.step()
	}
	return out, first, err
}

func (x *interrupting) Transition(ctx context.Context, id uint64, t ledger.Transition) (ledger.Entry, error) {
	out, err := x.ReplayTarget.Transition(ctx, id, t)
	if err == nil || errors.Is(err, ledger.ErrNotFound) {
		if serr := x.step(); serr != nil {
			err = serr
		}
	}
	return out, err
}

func (x *interrupting) ByKey(ctx context.Context, key string) (ledger.Entry, error) {
	out, err := x.ReplayTarget.ByKey(ctx, key)
	if err == nil || errors.Is(err, ledger.ErrNotFound) {
		if serr := x.step(); serr != nil {
			err = serr
		}
	}
	return out, err
}

// testReplayInterruptedAnywhere: a spool replay cut short after any of its
// writes, then run again, leaves each key recorded once and no pending
// entry but the one the spool says is in doubt. Before Record, a replay
// cut between appending an entry and recording its key left a pending
// entry that the next replay duplicated, and one cut between claiming an
// intent and appending it lost the intent.
func testReplayInterruptedAnywhere(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	for n := 1; ; n++ {
		sp, err := ledger.OpenSpool(filepath.Join(t.TempDir(), "s.spool"))
		if err != nil {
			t.Fatal(err)
		}
		tag := fmt.Sprintf("n%d-", n)
		lost := ledger.Entry{ID: 1 << 40, Chat: chatA, Excerpt: "its entry was lost"} // an ID the ledger never gave
		_ = sp.Add(ledger.SpoolRecord{Seq: 1, Entry: lost, Key: tag + "lost"})
		_ = sp.Add(ledger.SpoolRecord{Seq: 2, Entry: ledger.Entry{Chat: chatA, Excerpt: "never reached the ledger"}})
		_ = sp.Add(ledger.SpoolRecord{Seq: 2, Entry: ledger.Entry{Chat: chatA, Excerpt: "never reached the ledger"}, Key: tag + "intent"})
		_ = sp.Add(ledger.SpoolRecord{Seq: uint64(1000 + n), Entry: ledger.Entry{Chat: chatB, Excerpt: tag + "stopped mid-send"}})
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
		if got := after[ledger.Sent] - before[ledger.Sent]; got != 2 {
			t.Errorf("n=%d: %d entries sent, want 2 (one per key)", n, got)
		}
		if got := after[ledger.Pending] - before[ledger.Pending]; got != 1 {
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
}
