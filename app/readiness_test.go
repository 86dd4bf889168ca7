package app_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestReadinessReturnsWithTheReplica: with ledger.min_replicas 1, the
// replica dies and a send is refused (503): /readyz says not ready. The
// replica comes back, and /readyz says ready again by itself, without a
// single request that writes (a load balancer routing only to ready
// instances would never send one): the bot probes the ledger while it is
// marked failing. It used to stay not ready until a send succeeded.
func TestReadinessReturnsWithTheReplica(t *testing.T) {
	// Not parallel: it reads the Stream connection's state, which every
	// bot in this process shares (the SDK's log lines, the only signal, name
	// no connection), so another test's bot stopping would move it.
	primary := ledgertest.Own(t)
	replica := ledgertest.Own(t, "--replicaof", "127.0.0.1", primary.Addr[strings.LastIndex(primary.Addr, ":")+1:])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := replica.WaitReplicating(ctx, ""); err != nil {
		t.Fatal(err)
	}
	h := start(t, dingtalktest.Options{}, func(c *config.Config) {
		c.Ledger.RedisURL = primary.URL
		c.Ledger.RedisPrefix = "readiness:"
		c.Ledger.MinReplicas = 1
		c.Ledger.ReplicaTimeout = 200 * time.Millisecond
		c.Ledger.Spool = filepath.Join(t.TempDir(), "bot.spool")
	})
	ready := func() int { return h.get("/readyz", "").StatusCode }
	if err := waitFor(ctx, func() bool { return ready() == 200 }); err != nil {
		t.Fatalf("never ready: %v", err)
	}

	replica.Kill()
	if r, body := h.do("POST", "/v1/messages", testToken, `{"family":"private","conversation_id":"`+privCID+`","text":"no replica"}`); r.StatusCode != 503 {
		t.Fatalf("send without a replica: %d %v", r.StatusCode, body)
	}
	if r, body := h.do("GET", "/readyz", "", ""); r.StatusCode != 503 || body["ledger_writes_ok"] != false {
		t.Errorf("/readyz after a refused send: %d %v", r.StatusCode, body)
	}

	if err := replica.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := replica.WaitReplicating(ctx, ""); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	if err := waitFor(ctx, func() bool { return ready() == 200 }); err != nil {
		t.Fatalf("/readyz still %d with the replica back and no traffic: %v", ready(), err)
	}
	t.Logf("ready again %v after the replica was back, without a send", time.Since(back).Round(time.Millisecond))
	if n := h.srv.CountCalls(dingtalktest.PathPrivateSend); n != 0 {
		t.Errorf("%d sends reached DingTalk; readiness must return without any", n)
	}
}
