package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigOfTheShippedConfig: the built binary's check-config
// passes the repository's config.yaml with its secrets in the environment
// (exit 0), prints none of them, and fails a broken copy (exit 1) naming
// the key and line; completion bash is valid bash.
func TestCheckConfigOfTheShippedConfig(t *testing.T) {
	t.Parallel()
	const secret = "e2e-client-secret-5c1d"
	cmd := exec.Command(binary(t), "check-config", "-config", "../config.yaml")
	cmd.Env = append(os.Environ(), "DINGTALK_CLIENT_SECRET="+secret, "RECALLBOT_HTTP_TOKEN="+testToken)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "../config.yaml: valid") {
		t.Fatalf("check-config config.yaml: %v\n%s", err, out)
	}
	if strings.Contains(string(out), secret) || strings.Contains(string(out), testToken) {
		t.Errorf("check-config printed a secret:\n%s", out)
	}

	b, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(b), "confirm_ttl: 2m ", "confirm_ttl: soon ", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(binary(t), "check-config", "-config", broken)
	cmd.Env = append(os.Environ(), "DINGTALK_CLIENT_SECRET="+secret, "RECALLBOT_HTTP_TOKEN="+testToken)
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "recall.confirm_ttl") || !strings.Contains(string(out), "line ") {
		t.Errorf("check-config of a bad duration: %v\n%s", err, out)
	}

	script, _, code := recallbot(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash: exit %d", code)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		cmd := exec.Command(bash, "-n")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v\n%s", err, out)
		}
	}
}
