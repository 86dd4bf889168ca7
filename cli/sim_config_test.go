package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
)

// simRun is `recallbot sim` running in the test process.
type simRun struct {
	out    syncBuffer
	addr   string // the emulator's
	cancel context.CancelFunc
	done   chan error
}

// startSim runs sim with args (and -listen on a free port) until it has
// printed its banner.
func startSim(t *testing.T, args ...string) *simRun {
	t.Helper()
	s := &simRun{addr: freeAddr(t), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- run(ctx, append([]string{"sim", "-listen", s.addr}, args...), &s.out, io.Discard) }()
	t.Cleanup(func() { s.stop(t) })
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := waitFor(wctx, func() bool { return strings.Contains(s.out.String(), "Ctrl-C stops.") }); err != nil {
		t.Fatalf("sim did not start: %v\n%s", err, s.out.String())
	}
	return s
}

func (s *simRun) stop(t *testing.T) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		t.Errorf("sim: %v", err)
	}
}

// exports are the "export NAME=VALUE" lines sim printed.
func (s *simRun) exports() map[string]string {
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  export ([A-Z_]+)=(\S+)$`).FindAllStringSubmatch(s.out.String(), -1) {
		vars[m[1]] = m[2]
	}
	return vars
}

// say plays user in a chat through the emulator's control API and returns
// the text of the bot's replies.
func (s *simRun) say(t *testing.T, chat, convType, user, text string) []string {
	t.Helper()
	body := fmt.Sprintf(`{"senderStaffId":%q,"text":%q,"conversationType":%q}`, user, text, convType)
	resp, err := http.Post("http://"+s.addr+"/sim/v1/conversations/"+chat+"/messages?wait=10s", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Replies []struct{ Text string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("control API: %d %v", resp.StatusCode, err)
	}
	var out []string
	for _, m := range r.Replies {
		out = append(out, m.Text)
	}
	return out
}

// TestSimConfigRunsAsIs: the configuration `recallbot sim -write-config`
// writes runs the bot as it is, with the environment sim printed: it
// starts, connects and answers /help from the seeded admin, in the seeded
// group and in the admin's own chat with the bot.
func TestSimConfigRunsAsIs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir) // sim's ledger directory, removed when it stops
	path := filepath.Join(dir, "sim.yaml")
	botHTTP := freeAddr(t)
	sim := startSim(t, "-write-config", path, "-bot-http", botHTTP)
	vars := sim.exports()
	if vars["DINGTALK_CLIENT_SECRET"] == "" || len(vars["RECALLBOT_HTTP_TOKEN"]) < 16 || vars["RECALLBOT_API"] != "http://"+botHTTP {
		t.Fatalf("sim printed the exports %v:\n%s", vars, sim.out.String())
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	for _, want := range []string{simGroup, simPrivate, simAdmin, simUser, "The bot's configuration is in " + path} {
		if !strings.Contains(sim.out.String(), want) {
			t.Errorf("sim did not print %q:\n%s", want, sim.out.String())
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var botLog syncBuffer
	bot := make(chan error, 1)
	go func() { bot <- run(ctx, []string{"run", "-config", path}, io.Discard, &botLog) }()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := waitFor(wctx, func() bool { return run(wctx, []string{"healthcheck"}, io.Discard, io.Discard) == nil }); err != nil {
		t.Fatalf("the bot never became ready: %v\n%s", err, botLog.String())
	}
	if r := sim.say(t, simGroup, "2", simAdmin, "/help"); len(r) != 1 || !strings.Contains(r[0], "/recall last 5") {
		t.Errorf("/help in the group: %q", r)
	}
	if r := sim.say(t, "-", "1", simAdmin, "/help"); len(r) != 1 || !strings.Contains(r[0], "/recall last 5") {
		t.Errorf("/help in the admin's chat: %q", r)
	}
	if r := sim.say(t, simGroup, "2", simUser, "/recall last 1"); len(r) != 1 || !strings.Contains(r[0], "管理员") {
		t.Errorf("the user who is not an admin: %q", r)
	}
	cancel()
	if err := <-bot; err != nil {
		t.Errorf("bot: %v\n%s", err, botLog.String())
	}
	ledgerDir := regexp.MustCompile(`its ledger is in (\S+),`).FindStringSubmatch(sim.out.String())
	sim.stop(t)
	if ledgerDir == nil {
		t.Fatal("sim did not say where the ledger is")
	}
	if _, err := os.Stat(ledgerDir[1]); !os.IsNotExist(err) {
		t.Errorf("the ledger directory %s outlived sim: %v", ledgerDir[1], err)
	}
}

// TestSimPrintsARunnableConfig: without -write-config sim prints the same
// configuration, which parses as it is with the environment it printed;
// and it never overwrites a file it did not write.
func TestSimPrintsARunnableConfig(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	sim := startSim(t)
	out := sim.out.String()
	_, after, ok := strings.Cut(out, "removed when sim stops):\n\n")
	block, _, ok2 := strings.Cut(after, "\nIn another shell:")
	if !ok || !ok2 {
		t.Fatalf("no configuration printed:\n%s", out)
	}
	vars := sim.exports()
	cfg, err := config.Parse([]byte(block), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatalf("the printed configuration: %v\n%s", err, block)
	}
	if cfg.DingTalk.APIBase != "http://"+sim.addr || len(cfg.Admins) != 1 || cfg.Admins[0] != simAdmin || cfg.HTTP.Listen != "127.0.0.1:8470" {
		t.Errorf("configuration %+v", cfg)
	}
	if strings.Contains(out, "RECALLBOT_API") {
		t.Errorf("RECALLBOT_API printed for the default address:\n%s", out)
	}

	mine := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(mine, []byte("admins: [me]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"sim", "-listen", freeAddr(t), "-write-config", mine}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "recallbot sim did not write it") {
		t.Errorf("overwriting a person's file: %v", err)
	}
	if b, _ := os.ReadFile(mine); string(b) != "admins: [me]\n" {
		t.Errorf("the file was changed: %q", b)
	}
}
