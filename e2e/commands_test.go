package e2e

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// recallbot runs the binary with args and reports what it printed and its
// exit code.
func recallbot(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(binary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("recallbot %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// TestSubcommandsAndHelp: every subcommand is listed and has its -h; a
// command line that cannot be understood exits 2 naming what is wrong, -h exits
// 0, and a bare "recallbot -config FILE" is "run".
func TestSubcommandsAndHelp(t *testing.T) {
	t.Parallel()
	if out, _, code := recallbot(t, "version"); code != 0 || !strings.HasPrefix(out, "recallbot ") {
		t.Errorf("version: %q, exit %d", out, code)
	}
	if _, errOut, code := recallbot(t, "frobnicate"); code != 2 || !strings.HasPrefix(errOut, `recallbot: unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	// A bare recallbot, or -h, lists every subcommand.
	if _, errOut, code := recallbot(t); code != 2 || !strings.Contains(errOut, "resolve") {
		t.Errorf("bare recallbot: exit %d, %q", code, errOut)
	}
	out, _, code := recallbot(t, "-h")
	if code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	for _, cmd := range []string{"run", "demo", "sim", "send", "broadcast", "recall", "audit", "entries", "resolve", "healthcheck", "version"} {
		if !strings.Contains(out, "\n  "+cmd+" ") {
			t.Errorf("-h does not list %s:\n%s", cmd, out)
		}
	}
	for _, cmd := range []string{"run", "demo", "sim", "send", "broadcast", "recall", "audit", "entries", "resolve", "healthcheck"} {
		if _, errOut, code := recallbot(t, cmd, "-h"); code != 0 || !strings.Contains(errOut, "Usage: recallbot "+cmd) {
			t.Errorf("%s -h: exit %d, %q", cmd, code, errOut)
		}
	}
	// A bare "recallbot -config FILE" is "run": a missing file is its error.
	if _, errOut, code := recallbot(t, "-config", "/nonexistent.yaml"); code != 1 || !strings.Contains(errOut, "/nonexistent.yaml") {
		t.Errorf("bare -config: exit %d, %q", code, errOut)
	}
}
