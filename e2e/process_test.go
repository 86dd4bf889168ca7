package e2e

import (
	"bytes"
	"context"
	"fmt"
	"github.com/recallbot/recallbot/internal/watch"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// The tests in this file run the real recallbot binary, built once per test
// binary, as child processes: so that a SIGKILL is a real SIGKILL.

var built struct {
	once sync.Once
	path string
	err  error
}

func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the recallbot binary")
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "recallbot-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "recallbot")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(gobin, "build", "-o", built.path, ".")
		cmd.Dir = ".." // the module's root: package main
		out, err := cmd.CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is one recallbot process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	log  string
	done chan struct{}
}

// procConfig writes a config for a bot process against srv.
// fourInFlight rewrites the configuration at path to keep four calls of a
// recall or broadcast on the wire: tests that catch exactly the first
// calls cannot let the number follow the round trip (and so the load).
func fourInFlight(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("  timeout: 2s\n"), []byte("  timeout: 2s\n  in_flight: 4\n"), 1)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func procConfig(t *testing.T, srv *dingtalktest.Server, dir, ledgerLine, addr string) string {
	t.Helper()
	o := srv.Options()
	y := fmt.Sprintf(`dingtalk:
  client_id: %s
  client_secret: ${DINGTALK_CLIENT_SECRET}
  robot_code: %s
  cool_app_code: %s
  api_base: %s
  qps: 1000
  timeout: 2s
admins: [%s]
ledger:
  %s
  spool: %s
http:
  listen: %s
  token: ${RECALLBOT_HTTP_TOKEN}
log: {level: info, format: json}
locale: en
`, o.ClientID, o.RobotCode, o.CoolAppCode, srv.URL(), admin, ledgerLine, filepath.Join(dir, "spool-"+strings.ReplaceAll(addr, ":", "-")), addr)
	path := filepath.Join(dir, fmt.Sprintf("config-%s.yaml", strings.ReplaceAll(addr, ":", "-")))
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startProc starts the binary and waits until the emulator sees its Stream
// connection and its HTTP API answers.
func startProc(t *testing.T, srv *dingtalktest.Server, cfgPath, addr string) *proc {
	t.Helper()
	return startProcIn(t, srv, "", cfgPath, addr)
}

// startProcIn is startProc with the process's working directory set to
// dir ("" for the test's own).
func startProcIn(t *testing.T, srv *dingtalktest.Server, dir, cfgPath, addr string) *proc {
	t.Helper()
	before := map[string]bool{}
	for _, c := range srv.Connections() {
		before[c.ID] = true // may include a killed process's socket the emulator has not seen close yet
	}
	logPath := filepath.Join(filepath.Dir(cfgPath), fmt.Sprintf("bot-%d.log", time.Now().UnixNano()))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "run", "-config", cfgPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DINGTALK_CLIENT_SECRET="+srv.Options().ClientSecret, "RECALLBOT_HTTP_TOKEN="+testToken)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, addr: addr, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(p.done) }()
	t.Cleanup(p.kill)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	connected := func() bool {
		for _, c := range srv.Connections() {
			if !before[c.ID] {
				return true
			}
		}
		return false
	}
	if err := srv.WaitUntil(ctx, func() bool { return connected() || p.exited() }); err != nil || p.exited() {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("bot did not connect (%v):\n%s", err, b)
	}
	if err := waitFor(ctx, func() bool {
		r, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil && r.StatusCode == 200
	}); err != nil {
		t.Fatalf("bot HTTP API did not come up: %v", err)
	}
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits; it reports the exit code.
func (p *proc) stop() int {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Error("bot did not stop within 30 s of SIGTERM")
		p.kill()
	}
	return p.cmd.ProcessState.ExitCode()
}

// loggedDuplicate reports whether the process logged msgID as a duplicate.
func (p *proc) loggedDuplicate(msgID string) bool {
	b, _ := os.ReadFile(p.log)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "duplicate delivery ignored") && strings.Contains(line, msgID) {
			return true
		}
	}
	return false
}

// api calls the process's HTTP API.
func (p *proc) api(method, path, body string) (int, string) {
	req, _ := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The people and the token the processes are configured with.
const (
	admin     = "manager4220"
	testToken = "test-http-token-0123456789"
	privCID   = "cidPrivateChat=="
)

// syncBuffer is an output a test reads while something else writes it.
type syncBuffer = watch.Buffer

// waitFor polls a condition nothing signals, until ctx ends (watch.Until).
var waitFor = watch.Until

// env is a lookup of the given variables, for config.Parse.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}
