package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/recallbot/recallbot/config"
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
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if got := cfg.Ledger.SpoolPath(); got != tc.want {
			t.Errorf("%s: spool %s, want %s", tc.file, got, tc.want)
		}
	}
}
