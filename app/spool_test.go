package app_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestSpoolLeftAtTheOldDefaultIsReplayed: a key an older recallbot left
// in recallbot.spool in the working directory reaches the ledger when a
// newer one, whose spool is named after its config file, starts there;
// the emptied file is removed. Nothing spooled before an upgrade is lost.
func TestSpoolLeftAtTheOldDefaultIsReplayed(t *testing.T) {
	// Not parallel: it changes the working directory.
	r := ledgertest.Shared(t)
	dir := t.TempDir()
	t.Chdir(dir)
	sp, err := ledger.OpenSpool(config.LegacySpool)
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
	h := start(t, dingtalktest.Options{}, func(c *config.Config) {
		c.Ledger.RedisURL = r.URL
		c.Ledger.RedisPrefix = "legacyspool:" + time.Now().Format("150405.000000000") + ":"
		c.Ledger.NameSpoolAfter(filepath.Join(dir, "config.yaml"))
	})
	got, err := h.app.Ledger.ByKey(context.Background(), key)
	if err != nil || got.State != ledger.Sent || got.Excerpt != e.Excerpt {
		t.Errorf("the key left at the old default: %+v, %v", got, err)
	}
	if _, err := os.Stat(config.LegacySpool); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the emptied %s was not removed: %v", config.LegacySpool, err)
	}
}
