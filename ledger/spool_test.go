package ledger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSpoolHoldsWhatItsFileRefuses: a record the file cannot take is held
// in memory, written to the file as soon as it takes writes again (so it
// survives a crash from then on), and replayed into the ledger.
func TestSpoolHoldsWhatItsFileRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.spool")
	sp, err := OpenSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	writable := sp.f
	ro, err := os.Open(path) // writes to it fail, as on a failed disk
	if err != nil {
		t.Fatal(err)
	}
	sp.f = ro
	e := Entry{Chat: Chat{Family: Group, ConversationID: "cidHeld"}, MsgKey: "sampleText", SentAt: time.Now()}
	if err := sp.Add(SpoolRecord{Seq: 1, Entry: e, Key: "k-intent-refused"}); err == nil || errors.Is(err, ErrHeld) {
		t.Fatalf("Add on a failed file: %v (Add never holds)", err)
	}
	if err := sp.AddOrHold(SpoolRecord{Seq: 2, Entry: e, Key: "k-held"}); !errors.Is(err, ErrHeld) {
		t.Fatalf("AddOrHold on a failed file: %v", err)
	}
	if sp.Held() != 1 || sp.Waiting() != 1 {
		t.Fatalf("held %d waiting %d", sp.Held(), sp.Waiting())
	}
	sp.f = writable
	_ = ro.Close()

	// The file works again: the next replay writes the held record into
	// it first, even though the ledger refuses (here: it is closed).
	led, err := Open(filepath.Join(dir, "l.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = led.Close()
	if _, err := sp.Replay(context.Background(), led); err == nil {
		t.Fatal("replay into a closed ledger succeeded")
	}
	if sp.Held() != 0 || sp.Waiting() != 1 {
		t.Fatalf("after the file came back: held %d waiting %d", sp.Held(), sp.Waiting())
	}
	recs, err := sp.read()
	if err != nil || len(recs) != 1 || recs[0].Key != "k-held" {
		t.Fatalf("the file holds %+v, %v", recs, err)
	}
	led, err = Open(filepath.Join(dir, "l.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	if n, err := sp.Replay(context.Background(), led); n != 1 || err != nil {
		t.Fatalf("replay: %d, %v", n, err)
	}
	if got, err := led.ByKey(context.Background(), "k-held"); err != nil || got.State != Sent {
		t.Errorf("ByKey: %+v, %v", got, err)
	}
}

// TestSpoolCloseNamesLostKeys: keys still held when the spool closes are
// named in the error, for an operator to record by hand.
func TestSpoolCloseNamesLostKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.spool")
	sp, err := OpenSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	ro, _ := os.Open(path)
	w := sp.f
	sp.f = ro
	_ = sp.AddOrHold(SpoolRecord{Seq: 1, Entry: Entry{Chat: Chat{Family: Group, ConversationID: "c"}, MsgKey: "sampleText"}, Key: "k-lost"})
	_ = w.Close()
	if err := sp.Close(); err == nil || !strings.Contains(err.Error(), "k-lost") {
		t.Errorf("Close: %v", err)
	}
}

// slowTarget is a ledger whose ByKey blocks until release is closed.
type slowTarget struct {
	*Bolt
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *slowTarget) ByKey(ctx context.Context, key string) (Entry, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.Bolt.ByKey(ctx, key)
}

// TestSpoolReplayNeverBlocksWrites: a replay into a ledger that hangs
// (Redis stalled) must not hold up a key being spooled, nor a send that
// would replay first; what is spooled meanwhile is replayed next time.
func TestSpoolReplayNeverBlocksWrites(t *testing.T) {
	dir := t.TempDir()
	sp, err := OpenSpool(filepath.Join(dir, "s.spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	led, err := Open(filepath.Join(dir, "l.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	rec := func(seq uint64, key string) SpoolRecord {
		return SpoolRecord{Seq: seq, Entry: Entry{Chat: Chat{Family: Group, ConversationID: "c"}, MsgKey: "sampleText"}, Key: key}
	}
	if err := sp.Add(rec(1, "k1")); err != nil {
		t.Fatal(err)
	}
	slow := &slowTarget{Bolt: led, entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() { _, err := sp.Replay(context.Background(), slow); done <- err }()
	<-slow.entered
	if err := sp.Add(rec(2, "k2")); err != nil { // would deadlock if the replay held the file
		t.Fatal(err)
	}
	if _, ran, _ := sp.TryReplay(context.Background(), led); ran {
		t.Error("TryReplay ran beside a replay")
	}
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sp.Waiting() == 0 {
		t.Fatal("the key spooled during the replay was dropped")
	}
	if _, err := sp.Replay(context.Background(), led); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k1", "k2"} {
		if _, err := led.ByKey(context.Background(), k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if sp.Waiting() != 0 {
		t.Errorf("waiting %d after the second replay", sp.Waiting())
	}
}
