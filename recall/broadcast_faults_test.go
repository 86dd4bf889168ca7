package recall_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
	"github.com/recallbot/recallbot/recall"
)

// failedSteps counts the steps a ledger could not write ahead.
type failedSteps struct {
	*ledger.Redis
	failed atomic.Int32
}

func (f *failedSteps) StartStep(ctx context.Context, id, owner string, step int, e ledger.Entry) (ledger.Entry, ledger.Job, error) {
	out, j, err := f.Redis.StartStep(ctx, id, owner, step, e)
	if err != nil {
		f.failed.Add(1)
	}
	return out, j, err
}

// TestBroadcastWaitsForAReplica: with ledger.min_replicas 1 and the replica
// down, a broadcast is refused (nothing of it is left to run), and the
// steps of one already running wait: no call is made and nobody is counted
// failed (failed means DingTalk refused) until the replica is back; then
// every step is sent.
func TestBroadcastWaitsForAReplica(t *testing.T) {
	primary := ledgertest.Own(t)
	replica := ledgertest.Own(t, "--replicaof", "127.0.0.1", primary.Addr[len("127.0.0.1:"):])
	if err := replica.WaitReplicating(tctx(t), ""); err != nil {
		t.Fatal(err)
	}
	f := newSpoolFixture(t, primary.URL, ledger.RedisOptions{MinReplicas: 1, ReplicaTimeout: time.Second})
	led := &failedSteps{Redis: f.led}
	b := recall.NewBroadcaster(led, f.client, zap.NewNop(), recall.BroadcastConfig{LedgerBackoff: 20 * time.Millisecond})
	req := recall.BroadcastRequest{Chats: otoUsers("w", 100), Message: dingtalk.Text("all hands"), Actor: "api:hr", BatchID: "b-refused"}

	replica.Kill()
	if _, err := b.Start(tctx(t), req); !errors.Is(err, ledger.ErrNotDurable) {
		t.Fatalf("Start without a replica: %v, want it refused as not durable", err)
	}
	if _, err := f.led.GetJob(tctx(t), "b-refused"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("the refused broadcast is in the ledger: %v", err)
	}
	if n := b.RunOnce(tctx(t)); n != 0 {
		t.Errorf("RunOnce ran %d broadcasts", n)
	}

	if err := replica.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := replica.WaitReplicating(tctx(t), ""); err != nil {
		t.Fatal(err)
	}
	req.BatchID = "b-waits"
	var j ledger.Job
	var startErr error
	if err := waitFor(tctx(t), func() bool { // a replica slow to acknowledge (a loaded machine) refuses it too
		j, startErr = b.Start(tctx(t), req)
		return startErr == nil
	}); err != nil {
		t.Fatalf("Start with the replica back: %v", startErr)
	}
	replica.Kill()
	wait := runJob(tctx(t), b)
	if err := waitFor(tctx(t), func() bool { return led.failed.Load() >= 3 }); err != nil { // it keeps trying
		t.Fatal(err)
	}
	cur, _ := f.led.GetJob(tctx(t), j.ID)
	if n := f.srv.CountCalls(dingtalktest.PathOTOSend); n != 0 || cur.Failed != 0 || cur.Calls != 0 || cur.Next != 0 {
		t.Errorf("with the replica down: %d calls, job %+v", n, cur)
	}
	if err := replica.Restart(); err != nil {
		t.Fatal(err)
	}
	wait()
	cur, _ = f.led.GetJob(tctx(t), j.ID)
	if cur.State != ledger.JobDone || cur.Sent != 100 || cur.Failed != 0 || cur.Calls != 5 || len(f.srv.BotMessages()) != 100 {
		t.Errorf("with the replica back: job %s sent %d failed %d calls %d; %d messages", cur.State, cur.Sent, cur.Failed, cur.Calls, len(f.srv.BotMessages()))
	}
}
