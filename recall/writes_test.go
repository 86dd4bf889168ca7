package recall_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// fullDisk is a real embedded ledger whose writes fail while down is set,
// as on a full disk.
type fullDisk struct {
	*ledger.Bolt
	down   atomic.Bool
	probes atomic.Int64
}

var errDiskFull = errors.New("write ledger.db: no space left on device")

func (l *fullDisk) Append(ctx context.Context, e ledger.Entry) (ledger.Entry, error) {
	if l.down.Load() {
		return ledger.Entry{}, errDiskFull
	}
	return l.Bolt.Append(ctx, e)
}

func (l *fullDisk) Probe(ctx context.Context) error {
	l.probes.Add(1)
	if l.down.Load() {
		return errDiskFull
	}
	return l.Bolt.Probe(ctx)
}

// TestWritingComesBackWithoutTraffic: a send refused because the ledger
// would not take its entry makes Writing (and so /readyz) false; from then
// on the Sender probes the ledger by itself, 1 s after the failure, then
// at doubling intervals up to 10 s, and the first probe after the ledger
// takes writes again makes Writing true: no send is needed (a load
// balancer routing only to ready instances would never send one).
func TestWritingComesBackWithoutTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		led := &fullDisk{Bolt: b}
		s := recall.NewSender(led, nil, zap.NewNop(), recall.SenderConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.WatchWrites(ctx) }()

		synctest.Wait()
		if led.probes.Load() != 0 || !s.Writing() {
			t.Fatalf("before any failure: %d probes, writing %v", led.probes.Load(), s.Writing())
		}
		led.down.Store(true)
		if _, err := s.Send(ctx, private, dingtalk.Text("refused"), recall.SendOptions{}); !errors.Is(err, recall.ErrLedgerUnavailable) {
			t.Fatalf("send onto a full disk: %v", err)
		}
		if s.Writing() {
			t.Fatal("Writing after a refused send")
		}
		// Probes at 1, 3, 7 and 15 s, then every 10 s: 25, 35, ...
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if n := led.probes.Load(); n != 4 || s.Writing() {
			t.Errorf("after 20 s of a full disk: %d probes (want 4), writing %v", n, s.Writing())
		}
		led.down.Store(false) // room again
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if s.Writing() {
			t.Error("writing before any probe saw the room")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := led.probes.Load(); n != 5 || !s.Writing() {
			t.Errorf("25 s after the failure: %d probes (want 5), writing %v; want writing, without a send", n, s.Writing())
		}
		// Once writing, it stops probing until the next failure.
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := led.probes.Load(); n != 5 {
			t.Errorf("%d probes while writing", n)
		}
		cancel()
		<-done
	})
}
