package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/config"
)

// TestConfigErrorsSuggestTheKeyMeant: an unknown key close to a real one
// names it; one close to none suggests nothing; a missing file says how to
// name one (-config) and how to write one (sim -write-config).
func TestConfigErrorsSuggestTheKeyMeant(t *testing.T) {
	vars := env(map[string]string{"SECRET": "s", "TOKEN": "0123456789abcdef"})
	for _, c := range []struct{ yaml, want string }{
		{"local: en\n" + minimal, `unknown key "local" at the top level; did you mean "locale"?`},
		{minimal + "ledger:\n  pth: x.db\n", `unknown key "pth" in ledger; did you mean "path"?`},
		{"colour: blue\n" + minimal, `unknown key "colour" at the top level`},
	} {
		_, err := config.Parse([]byte(c.yaml), vars)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
		if strings.Contains(c.want, "colour") && err != nil && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("colour: suggests a key: %v", err)
		}
	}
	missing := filepath.Join(t.TempDir(), "config.yaml")
	_, err := config.Load(missing)
	if err == nil || !strings.Contains(err.Error(), "-config") || !strings.Contains(err.Error(), "recallbot sim -write-config "+missing) {
		t.Errorf("a missing file: %v", err)
	}
}
