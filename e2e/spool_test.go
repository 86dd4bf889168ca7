package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestTwoConfigsInOneDirectoryDoNotShareASpool: two instances on one Redis
// ledger, started from one working directory, each with its own config
// file and no ledger.spool, both run: each spool is named after its
// config (the shared default used to stop the second with "spool
// recallbot.spool is locked by another process").
func TestTwoConfigsInOneDirectoryDoNotShareASpool(t *testing.T) {
	t.Parallel()
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
	if _, err := os.Stat(filepath.Join(dir, config.LegacySpool)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was created in the working directory: %v", config.LegacySpool, err)
	}
}
