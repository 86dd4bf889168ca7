package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestWrongCredentialsStopTheStart: DingTalk refusing the app's clientId
// or clientSecret, at the token API or at the Stream gateway, is a
// mistake in the configuration: Open fails with one sentence naming the
// settings. DingTalk failing or unreachable says nothing about them: the
// bot starts, keeps trying and is not ready until it connects.
func TestWrongCredentialsStopTheStart(t *testing.T) {
	tests := []struct {
		name    string
		tune    func(*Config)
		arm     func(*dingtalktest.Server)
		wantErr bool
		ready   bool
	}{
		{name: "a wrong secret", tune: func(c *Config) { c.DingTalk.ClientSecret = "not-the-secret-9f2c" }, wantErr: true},
		{name: "a wrong client id", tune: func(c *Config) { c.DingTalk.ClientID = "dingnosuchapp" }, wantErr: true},
		{name: "a wrong secret, the token API failing: the gateway refuses it", tune: func(c *Config) { c.DingTalk.ClientSecret = "not-the-secret-9f2c" },
			arm: func(s *dingtalktest.Server) { s.Fail(dingtalktest.PathAccessToken, dingtalktest.FaultServerError, 1) }, wantErr: true},
		{name: "the token API failing", arm: func(s *dingtalktest.Server) { s.Fail(dingtalktest.PathAccessToken, dingtalktest.FaultServerError, 1) }, ready: true},
		{name: "DingTalk unreachable", tune: func(c *Config) { c.DingTalk.APIBase = "http://" + freeAddr(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := dingtalktest.NewServer(dingtalktest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if tt.arm != nil {
				tt.arm(srv)
			}
			cfg := emulatorConfig(srv, 200)
			cfg.Admins = []string{admin}
			cfg.Ledger.Path = filepath.Join(t.TempDir(), "ledger.db")
			cfg.HTTP = HTTPConfig{Listen: "127.0.0.1:0", Token: testToken}
			if tt.tune != nil {
				tt.tune(&cfg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			app := NewApp(cfg, zap.NewNop())
			err = app.Open(ctx)
			if tt.wantErr {
				if !errors.Is(err, errBadCredentials) || err.Error() != "dingtalk.client_id or dingtalk.client_secret is wrong: DingTalk answered invalidClientIdOrSecret" {
					t.Fatalf("Open = %v, want the sentence on the credentials", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open = %v, want a start", err)
			}
			defer func() { _ = app.Close(ctx) }()
			if tt.ready {
				if err := waitFor(ctx, app.Listener.Connected); err != nil {
					t.Fatalf("never connected: %v", err)
				}
			}
			resp, err := http.Get("http://" + app.HTTPAddr() + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if want := map[bool]int{true: 200, false: 503}[tt.ready]; resp.StatusCode != want {
				t.Errorf("/readyz = %d, want %d", resp.StatusCode, want)
			}
		})
	}
}

// TestWrongSecretExitsWithOneSentence: the binary started with a wrong
// DINGTALK_CLIENT_SECRET exits 1 at once, saying which settings are wrong,
// and the secret is nowhere in what it printed.
func TestWrongSecretExitsWithOneSentence(t *testing.T) {
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
