package cli

import (
	"bytes"
	"context"
	"errors"
	"go.yaml.in/yaml/v3"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// checkConfigFile writes a configuration for an emulator at apiBase with
// the given ledger lines and returns its path.
func checkConfigFile(t *testing.T, apiBase, ledgerLines string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	cfg := "dingtalk:\n  client_id: dingemulatorapp\n  client_secret: ${CHECK_SECRET}\n  robot_code: dingemulatorbot\n  api_base: " + apiBase + "\n" +
		"admins: [manager4220]\n" + ledgerLines +
		"http:\n  token: ${CHECK_TOKEN}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkConfig runs `recallbot check-config` with args.
func checkConfig(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := CheckConfig(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestCheckConfigRedactsEverySecret: check-config prints the effective
// configuration (defaults filled in) with the client secret, the HTTP
// token and the Redis passwords redacted.
func TestCheckConfigRedactsEverySecret(t *testing.T) {
	secrets := map[string]string{"CHECK_SECRET": "app-secret-7f3a9c", "CHECK_TOKEN": "http-token-0123456789abcdef",
		"CHECK_REDIS_PASSWORD": "redis-pass-9931"}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	path := checkConfigFile(t, "http://127.0.0.1:1", "ledger:\n  redis_url: redis://:${CHECK_REDIS_PASSWORD}@127.0.0.1:6379/0?sentinel_password=${CHECK_REDIS_PASSWORD}\n")
	out, err := checkConfig(t, "-config", path)
	if err != nil {
		t.Fatalf("check-config: %v\n%s", err, out)
	}
	for k, v := range secrets {
		if strings.Contains(out, v) {
			t.Errorf("the output shows %s:\n%s", k, out)
		}
	}
	for _, want := range []string{"client_secret: '[redacted]'", "token: '[redacted]'", "redis://:REDACTED@127.0.0.1:6379/0",
		"max_last: 100", "spool: " + strings.TrimSuffix(path, ".yaml") + ".spool", path + ": valid",
		"redis_prefix: 'recallbot:'", "style: card", "on_resolved: update", "max_alerts: 10", "name: secrets"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckConfigPrintsAConfigurationAlone: what check-config prints on
// stdout is the configuration and nothing else (the verdict goes to
// stderr), so it can be saved and read back as a configuration.
func TestCheckConfigPrintsAConfigurationAlone(t *testing.T) {
	t.Setenv("CHECK_SECRET", "app-secret-7f3a9c")
	t.Setenv("CHECK_TOKEN", "http-token-0123456789abcdef")
	path := checkConfigFile(t, "http://127.0.0.1:1", "")
	var out, errOut bytes.Buffer
	if err := CheckConfig(context.Background(), []string{"-config", path}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), ": valid") || !strings.Contains(errOut.String(), path+": valid") {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	var back map[string]any
	if err := yaml.Unmarshal(out.Bytes(), &back); err != nil || back["dingtalk"] == nil {
		t.Errorf("stdout is not a configuration: %v\n%s", err, out.String())
	}
}

// TestCheckConfigNamesTheKeyAndLine: a wrong value is an error naming its
// key and line, and the command fails (exit 1).
func TestCheckConfigNamesTheKeyAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("dingtalk:\n  client_id: x\n  timeout: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := checkConfig(t, "-config", path)
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "dingtalk.timeout") {
		t.Errorf("check-config of a bad duration: %v, want line 3 and dingtalk.timeout", err)
	}
	if strings.Contains(out, "valid") {
		t.Errorf("a bad file printed %q", out)
	}
}

// TestCheckConfigOnline: -online fetches a token from the emulator and
// opens the ledger, a bbolt file and a real redis-server with a password,
// then closes it (the bot can open it next); a wrong secret is the
// sentence that names the settings, and an unreachable Redis fails.
func TestCheckConfigOnline(t *testing.T) {
	srv := onlineEmulator(t)

	dir := t.TempDir()
	db := filepath.Join(dir, "ledger.db")
	path := checkConfigFile(t, srv.URL(), "ledger:\n  path: "+db+"\n")
	out, err := checkConfig(t, "-config", path, "-online", "-quiet")
	if err != nil || !strings.Contains(out, "an access token") || !strings.Contains(out, "does not exist yet") {
		t.Fatalf("check-config -online before the ledger exists: %v\n%s", err, out)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("check-config created the ledger %s: %v", db, err)
	}
	bolt, err := ledger.Open(db, ledger.BoltOptions{}) // the bot has run once
	if err != nil {
		t.Fatal(err)
	}
	bolt.Close()
	if out, err := checkConfig(t, "-config", path, "-online", "-quiet"); err != nil || !strings.Contains(out, "ledger "+db+" opened and closed") {
		t.Errorf("check-config -online with a ledger file: %v\n%s", err, out)
	}

	t.Setenv("CHECK_SECRET", "not-the-secret")
	if out, err := checkConfig(t, "-config", path, "-online", "-quiet"); !errors.Is(err, app.ErrBadCredentials) {
		t.Errorf("check-config -online with a wrong secret: %v, want %v\n%s", err, app.ErrBadCredentials, out)
	}
	t.Setenv("CHECK_SECRET", "emulator-secret")

	r := ledgertest.Own(t, "--requirepass", "redis-pass-9931")
	t.Setenv("CHECK_REDIS_PASSWORD", "redis-pass-9931")
	redisPath := checkConfigFile(t, srv.URL(), "ledger:\n  redis_url: redis://:${CHECK_REDIS_PASSWORD}@"+r.Addr+"/0\n")
	out, err = checkConfig(t, "-config", redisPath, "-online")
	if err != nil || !strings.Contains(out, "the Redis ledger answered") || strings.Contains(out, "redis-pass-9931") {
		t.Errorf("check-config -online with Redis: %v\n%s", err, out)
	}
	t.Setenv("CHECK_REDIS_PASSWORD", "wrong-pass-0000")
	out, err = checkConfig(t, "-config", redisPath, "-online", "-quiet")
	if err == nil || strings.Contains(out+err.Error(), "wrong-pass-0000") {
		t.Errorf("check-config -online with a wrong Redis password: %v\n%s", err, out)
	}
}

// TestCheckConfigOnlineWhileTheBotRuns: a bbolt ledger a running bot holds
// is not an error of the configuration: -online says the bot holds it and
// that the rest is valid.
func TestCheckConfigOnlineWhileTheBotRuns(t *testing.T) {
	srv := onlineEmulator(t)
	db := filepath.Join(t.TempDir(), "ledger.db")
	held, err := ledger.Open(db, ledger.BoltOptions{}) // the running bot
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	path := checkConfigFile(t, srv.URL(), "ledger:\n  path: "+db+"\n")
	out, err := checkConfig(t, "-config", path, "-online", "-quiet")
	if err != nil || !strings.Contains(out, "held by a running bot") || !strings.Contains(out, "the rest of the configuration is valid") {
		t.Errorf("check-config -online while the bot runs: %v\n%s", err, out)
	}
}

// onlineEmulator is an emulator for check-config -online, with the
// secrets the test configurations name in the environment.
func onlineEmulator(t *testing.T) *dingtalktest.Server {
	t.Helper()
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Setenv("CHECK_SECRET", "emulator-secret")
	t.Setenv("CHECK_TOKEN", "http-token-0123456789abcdef")
	return srv
}
