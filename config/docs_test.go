package config_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/config"
)

// TestDocumentedConfigsWork: the alertmanager.yml snippets of
// docs/alerts.md (its shortest setup and its full one) pass Alertmanager
// 0.25's own check (amtool check-config), and their recallbot snippets
// parse as recallbot's configuration.
func TestDocumentedConfigsWork(t *testing.T) {
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI needs amtool (Debian's prometheus-alertmanager ships it)")
		}
		t.Skip("amtool not found: install prometheus-alertmanager")
	}
	vars := env(map[string]string{"SECRET": "s", "TOKEN": "0123456789abcdef"})
	checked := 0
	for _, doc := range []string{"../docs/alerts.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split(string(b), "```yaml\n")[1:] {
			block, _, _ = strings.Cut(block, "```")
			switch {
			case strings.Contains(block, "webhook_configs:"):
				path := filepath.Join(t.TempDir(), "alertmanager.yml")
				if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(amtool, "check-config", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "SUCCESS") {
					t.Errorf("%s: amtool check-config: %v\n%s\n%s", doc, err, out, block)
				}
				checked++
			case strings.HasPrefix(strings.TrimSpace(strings.SplitN(block, "\n", 2)[1]), "alerts:") || strings.HasPrefix(block, "alerts:"):
				if _, err := config.Parse([]byte(minimal+block), vars); err != nil {
					t.Errorf("%s: recallbot's alerts snippet: %v\n%s", doc, err, block)
				}
				checked++
			}
		}
	}
	if checked < 4 {
		t.Errorf("found %d snippets, want docs/alerts.md's four (its shortest setup's two and its full setup's two)", checked)
	}
}
