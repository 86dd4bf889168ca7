// Package redistest starts real redis-server and redis-sentinel processes
// for tests of the shared ledger: on free loopback ports, in temporary
// directories, with AOF and fsync on every write (the configuration the
// docs/operations.md recommends). Tests outside package ledger reach it through
// ledger/ledgertest; it lives apart so that package ledger's own tests,
// which cannot import ledgertest (it imports ledger), start the same
// servers.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Redis is a running redis-server.
type Redis struct {
	URL  string
	Addr string
	cmd  *exec.Cmd
	dir  string
	port int
	args []string
}

// Stop kills the server and removes its directory.
func (r *Redis) Stop() {
	if r == nil || r.cmd == nil {
		return
	}
	r.Kill()
	_ = os.RemoveAll(r.dir)
}

// Kill stops the server at once (SIGKILL), as a crash would, keeping its
// data directory: Restart brings it back with what it had fsynced.
func (r *Redis) Kill() {
	if r.cmd == nil || r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
}

// Restart starts a killed server again on the same port and directory.
func (r *Redis) Restart() error {
	r.Kill()
	return r.run()
}

// SkipReason is why Redis tests cannot run here, or "".
func SkipReason() string {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return "redis-server not found: install it (apt-get install redis-server, as .ci/run does) to run the Redis ledger tests"
	}
	return ""
}

// Start starts a redis-server and waits until it accepts connections.
// Extra arguments are passed to redis-server (e.g. "--requirepass", "x").
func Start(extra ...string) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("%s", SkipReason())
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir, err := os.MkdirTemp("", "recallbot-redis-")
	if err != nil {
		return nil, err
	}
	r := &Redis{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, port: port, args: extra}
	if err := r.run(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

// run starts the server process and waits for it to accept connections.
func (r *Redis) run() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	args := append([]string{"--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--loglevel", "notice",
		"--repl-diskless-sync-delay", "0"}, r.args...) // a replica syncs at once, not after 5 s
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
				signalled = true
			}
		}
		if !signalled {
			ready <- false
		}
	}()
	r.cmd = cmd
	select {
	case ok := <-ready:
		if ok {
			return nil
		}
	case <-time.After(20 * time.Second):
	}
	r.Kill()
	return fmt.Errorf("redis-server did not start")
}

var shared struct {
	once sync.Once
	r    *Redis
	err  error
}

// Shared returns one redis-server for the whole test binary, started on
// first use; StopShared (from TestMain) stops it. Without redis-server the
// test is skipped with a message saying how to enable it, except under CI,
// where that is a failure.
func Shared(t testing.TB) *Redis {
	t.Helper()
	if reason := SkipReason(); reason != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs the Redis tests: %s", reason)
		}
		t.Skip(reason)
	}
	shared.once.Do(func() { shared.r, shared.err = Start() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.r
}

// StopShared stops the shared server, if one was started.
func StopShared() { shared.r.Stop() }

// Own starts a redis-server for one test, one it may kill and restart;
// it is stopped when the test ends. Skipping works as for Shared.
func Own(t testing.TB, extra ...string) *Redis {
	t.Helper()
	if reason := SkipReason(); reason != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs the Redis tests: %s", reason)
		}
		t.Skip(reason)
	}
	r, err := Start(extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}
