package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestWrongSecretExitsWithOneSentence: the binary started with a wrong
// DINGTALK_CLIENT_SECRET exits 1 at once, saying which settings are wrong,
// and the secret is nowhere in what it printed.
func TestWrongSecretExitsWithOneSentence(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := procConfig(t, srv, dir, "path: "+filepath.Join(dir, "ledger.db"), freeAddr(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "-config", cfgPath)
	cmd.Env = append(os.Environ(), "DINGTALK_CLIENT_SECRET=wrong-secret-7d1e4a", "RECALLBOT_HTTP_TOKEN="+testToken)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want exit code 1\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "dingtalk.client_id or dingtalk.client_secret is wrong: DingTalk answered invalidClientIdOrSecret") {
		t.Errorf("printed %d lines, want the one sentence:\n%s", len(lines), out)
	}
	if strings.Contains(string(out), "wrong-secret-7d1e4a") {
		t.Errorf("the secret was printed:\n%s", out)
	}
}
