package app_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestFailedStartLeavesRedisQuiet: once a start has failed (here on a
// Sentinel nobody answers), go-redis's own complaints no longer reach the
// bot's log, so the reason for the failure stays its last line. A closed
// client may still finish a dial in the background; on a busy machine its
// "failed to dial" came after "start failed". Not parallel: go-redis has
// one logger for the process, and a parallel bot would take its lines.
func TestFailedStartLeavesRedisQuiet(t *testing.T) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	cfg := emulatorConfig(srv, 200)
	cfg.Admins = []string{admin}
	cfg.Ledger.Path = filepath.Join(t.TempDir(), "ledger.db")
	cfg.Ledger.RedisURL = "redis://" + closed + "/0?master_name=recallbot&dial_timeout=200ms"
	cfg.HTTP = config.HTTP{Listen: "127.0.0.1:0", Token: testToken}
	logs := &syncBuffer{}
	log, err := app.NewLogger(config.Log{Level: "debug", Format: "json"}, logs, cfg.Secrets())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.New(cfg, log, app.Options{}).Open(ctx); err == nil {
		t.Fatal("the bot started on a Sentinel nobody answers")
	}
	before := logs.String()
	// A Redis client still dialling after the failed start: its complaint
	// goes through go-redis's process-wide logger.
	late := redis.NewClient(&redis.Options{Addr: closed, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer late.Close()
	if err := late.Ping(ctx).Err(); err == nil {
		t.Fatal("a ping to a closed port answered")
	}
	if after := logs.String(); after != before {
		t.Errorf("the bot's log went on after the failed start:\n%s", strings.TrimPrefix(after, before))
	}
}
