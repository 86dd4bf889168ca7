package app_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestWrongCredentialsStopTheStart: DingTalk refusing the app's clientId
// or clientSecret, at the token API or at the Stream gateway, is a
// mistake in the configuration: Open fails with one sentence naming the
// settings. DingTalk failing or unreachable says nothing about them: the
// bot starts, keeps trying and is not ready until it connects.
func TestWrongCredentialsStopTheStart(t *testing.T) {
	// Not parallel: it reads the Stream connection's state, which every
	// bot in this process shares (the SDK's log lines, the only signal, name
	// no connection), so another test's bot stopping would move it.
	tests := []struct {
		name    string
		tune    func(*config.Config)
		arm     func(*dingtalktest.Server)
		wantErr bool
		ready   bool
	}{
		{name: "a wrong secret", tune: func(c *config.Config) { c.DingTalk.ClientSecret = "not-the-secret-9f2c" }, wantErr: true},
		{name: "a wrong client id", tune: func(c *config.Config) { c.DingTalk.ClientID = "dingnosuchapp" }, wantErr: true},
		{name: "a wrong secret, the token API failing: the gateway refuses it", tune: func(c *config.Config) { c.DingTalk.ClientSecret = "not-the-secret-9f2c" },
			arm: func(s *dingtalktest.Server) { s.Fail(dingtalktest.PathAccessToken, dingtalktest.FaultServerError, 1) }, wantErr: true},
		{name: "the token API failing", arm: func(s *dingtalktest.Server) { s.Fail(dingtalktest.PathAccessToken, dingtalktest.FaultServerError, 1) }, ready: true},
		{name: "DingTalk unreachable", tune: func(c *config.Config) { c.DingTalk.APIBase = "http://" + freeAddr(t) }},
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
			cfg.HTTP = config.HTTP{Listen: "127.0.0.1:0", Token: testToken}
			if tt.tune != nil {
				tt.tune(&cfg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			bot := app.New(cfg, zap.NewNop(), app.Options{})
			err = bot.Open(ctx)
			if tt.wantErr {
				if !errors.Is(err, app.ErrBadCredentials) || err.Error() != "dingtalk.client_id or dingtalk.client_secret is wrong: DingTalk answered invalidClientIdOrSecret" {
					t.Fatalf("Open = %v, want the sentence on the credentials", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open = %v, want a start", err)
			}
			defer func() { _ = bot.Close(ctx) }()
			if tt.ready {
				if err := waitFor(ctx, bot.Listener.Connected); err != nil {
					t.Fatalf("never connected: %v", err)
				}
			}
			resp, err := http.Get("http://" + bot.HTTPAddr() + "/readyz")
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
