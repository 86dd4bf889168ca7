package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestDefaultSpoolIsNamedAfterTheConfig: without ledger.spool, a Redis
// ledger's spool is the config file's name with ".spool", beside it; the
// embedded ledger's stays ledger.path + ".spool"; an explicit one wins.
func TestDefaultSpoolIsNamedAfterTheConfig(t *testing.T) {
	t.Setenv("SECRET", "s")
	t.Setenv("TOKEN", "0123456789abcdef")
	dir := t.TempDir()
	const redis = "ledger:\n  redis_url: redis://127.0.0.1:6379/0\n"
	for _, tc := range []struct{ file, ledger, want string }{
		{"config2.yaml", redis, filepath.Join(dir, "config2.spool")},
		{"bot.yml", redis, filepath.Join(dir, "bot.spool")},
		{"plain", redis, filepath.Join(dir, "plain.spool")},
		{"odd.spool", redis, filepath.Join(dir, "odd.spool.spool")},
		{"embedded.yaml", "ledger:\n  path: /var/lib/recallbot/l.db\n", "/var/lib/recallbot/l.db.spool"},
		{"explicit.yaml", redis + "  spool: /srv/recallbot/s.spool\n", "/srv/recallbot/s.spool"},
	} {
		path := filepath.Join(dir, tc.file)
		if err := os.WriteFile(path, []byte(minimal+tc.ledger), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if got := cfg.Ledger.spoolPath(); got != tc.want {
			t.Errorf("%s: spool %s, want %s", tc.file, got, tc.want)
		}
	}
}

// TestTwoConfigsInOneDirectoryDoNotShareASpool: two instances on one Redis
// ledger, started from one working directory, each with its own config
// file and no ledger.spool, both run: each spool is named after its
// config (the shared default used to stop the second with "spool
// recallbot.spool is locked by another process").
func TestTwoConfigsInOneDirectoryDoNotShareASpool(t *testing.T) {
	r := ledgertest.Shared(t)
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const gid = "cidTwoConfigs"
	_ = srv.AddConversation(gid, dingtalktest.KindGroup, "")
	dir := t.TempDir()
	var procs []*proc
	for range 2 {
		addr := freeAddr(t)
		cfg := procConfig(t, srv, dir, "redis_url: "+r.URL, addr)
		b, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, "  spool: ") {
				kept = append(kept, line)
			}
		}
		if err := os.WriteFile(cfg, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, startProcIn(t, srv, dir, cfg, addr))
		if _, err := os.Stat(strings.TrimSuffix(cfg, ".yaml") + ".spool"); err != nil {
			t.Errorf("the spool is not named after %s: %v", filepath.Base(cfg), err)
		}
	}
	for i, p := range procs {
		if st, body := p.api("POST", "/v1/messages", `{"family":"group","conversation_id":"`+gid+`","text":"from one directory"}`); st != 200 {
			t.Errorf("instance %d: send %d %s", i, st, body)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, legacySpool)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was created in the working directory: %v", legacySpool, err)
	}
}

// TestSpoolLeftAtTheOldDefaultIsReplayed: a key an older recallbot left
// in recallbot.spool in the working directory reaches the ledger when a
// newer one, whose spool is named after its config file, starts there;
// the emptied file is removed. Nothing spooled before an upgrade is lost.
func TestSpoolLeftAtTheOldDefaultIsReplayed(t *testing.T) {
	r := ledgertest.Shared(t)
	dir := t.TempDir()
	t.Chdir(dir)
	sp, err := ledger.OpenSpool(legacySpool)
	if err != nil {
		t.Fatal(err)
	}
	const key = "keyLeftBehindByAnOlderBot"
	e := ledger.Entry{Chat: ledger.Chat{Family: ledger.Group, ConversationID: "cidLeftBehind"}, MsgKey: "sampleText",
		Excerpt: "spooled before the upgrade", SentAt: time.Now(), Origin: ledger.OriginAPI, Actor: "api"}
	if err := sp.Add(ledger.SpoolRecord{Seq: 1, Entry: e, Key: key, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	h := start(t, dingtalktest.Options{}, func(c *Config) {
		c.Ledger.RedisURL = r.URL
		c.Ledger.RedisPrefix = "legacyspool:" + time.Now().Format("150405.000000000") + ":"
		c.Ledger.Spool, c.Ledger.spoolNamed = filepath.Join(dir, "config.spool"), true
	})
	got, err := h.app.Ledger.ByKey(context.Background(), key)
	if err != nil || got.State != ledger.Sent || got.Excerpt != e.Excerpt {
		t.Errorf("the key left at the old default: %+v, %v", got, err)
	}
	if _, err := os.Stat(legacySpool); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the emptied %s was not removed: %v", legacySpool, err)
	}
}
