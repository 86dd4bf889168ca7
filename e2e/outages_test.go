package e2e

// What the binary does when what it stands on fails: a ledger it cannot
// open (its exit code and its one line on stderr), a Redis that dies under
// it, a disk that fills up. Nothing acknowledged is lost.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// runOnce runs the binary with args until it exits (at most 30 s) and
// returns its exit code and everything it wrote.
func runOnce(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("recallbot %v did not exit:\n%s", args, out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func botEnv(srv *dingtalktest.Server) []string {
	return []string{"DINGTALK_CLIENT_SECRET=" + srv.Options().ClientSecret, "RECALLBOT_HTTP_TOKEN=" + testToken}
}

// TestLedgerThatCannotBeOpened: every way the ledger can fail to open ends
// the process with exit code 1 and the store's own one-line error naming
// the path or the host; never a panic, a SIGBUS or a stack trace.
func TestLedgerThatCannotBeOpened(t *testing.T) {
	t.Parallel()
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noise := make([]byte, 64<<10)
	_, _ = rand.Read(noise)

	// A real ledger, cut in the middle of a page.
	truncated := filepath.Join(dir, "truncated.db")
	led, err := ledger.Open(truncated, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		e, _ := led.Append(context.Background(), ledger.Entry{Chat: ledger.Chat{Family: ledger.Group, ConversationID: "cid"}, Excerpt: strings.Repeat("x", 200)})
		_, _ = led.Transition(context.Background(), e.ID, ledger.Transition{To: ledger.Sent, Key: fmt.Sprint("k", i)})
	}
	_ = led.Close()
	fi, _ := os.Stat(truncated)
	_ = os.Truncate(truncated, fi.Size()/2+100)

	// A ledger a live bot holds.
	held := filepath.Join(dir, "held.db")
	addr := freeAddr(t)
	startProc(t, srv, procConfig(t, srv, dir, "path: "+held, addr), addr)

	// Redis: a closed port, one with a password, one whose meta key is
	// someone else's.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := l.Addr().String()
	_ = l.Close()
	locked := ledgertest.Own(t, "--requirepass", "redis-pass-9f3e1c")
	foreign := ledgertest.Own(t)
	rc := redis.NewClient(&redis.Options{Addr: foreign.Addr})
	_ = rc.Set(context.Background(), "recallbot:meta", "a cache of another program", 0).Err()
	_ = rc.Close()
	wrongType := ledgertest.Own(t)
	rc = redis.NewClient(&redis.Options{Addr: wrongType.Addr})
	_ = rc.LPush(context.Background(), "recallbot:all", "a queue of another program").Err()
	_ = rc.Close()
	const leak, leakSlash = "pw-must-not-leak-5e1a", "Zx81kP0qWm3T/9Lm"

	for _, tc := range []struct {
		name, ledgerLine, want string
	}{
		{"random bytes", "path: " + file("noise.db", noise), "noise.db is not a recallbot ledger or is corrupt"},
		{"a directory", "path: " + dir, "is a directory"},
		{"a missing directory", "path: " + filepath.Join(dir, "no", "such", "ledger.db"), "does not exist"},
		{"truncated mid-page", "path: " + truncated, "truncated"},
		{"held by a live bot", "path: " + held, "locked by another process"},
		{"an unreachable Redis", "redis_url: redis://" + closedAddr + "/0", closedAddr},
		{"a Redis with a password", "redis_url: " + locked.URL, locked.Addr},
		{"a Redis key of another program", "redis_url: " + foreign.URL, "not a recallbot ledger"},
		{"a Redis key of another type", "redis_url: " + wrongType.URL, "key recallbot:all is a list where a recallbot ledger keeps a zset"},
		{"a Redis URL that does not parse", "redis_url: redis://:${RPW}@127.0.0.1:notaport/0", "ledger.redis_url: not a valid URL"},
		{"a password that was not percent-encoded", "redis_url: redis://:${RPW_SLASH}@127.0.0.1:16391/0", "ledger.redis_url: not a valid URL"},
		{"an unreachable Sentinel", "redis_url: redis://" + closedAddr + "/0?master_name=recallbot&dial_timeout=200ms&password=${RPW}", closedAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := procConfig(t, srv, t.TempDir(), tc.ledgerLine, freeAddr(t))
			code, out := runOnce(t, append(botEnv(srv), "RPW="+leak, "RPW_SLASH="+leakSlash), "run", "-config", cfg)
			// One line says it, in the log's format; not twice. (A Redis
			// client's goroutine may log a last warning after it.)
			last := ""
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if strings.Contains(l, `"start failed"`) {
					last = l
				}
			}
			if code != 1 || !strings.Contains(last, `"start failed"`) || !strings.Contains(last, tc.want) || strings.Count(out, `"start failed"`) != 1 || strings.Contains(out, "recallbot: ") {
				t.Errorf("exit %d, the failure's line %q; want exit 1 and an error naming %q\n%s", code, last, tc.want, out)
			}
			if strings.Contains(out, leak) || strings.Contains(out, leakSlash[:8]) {
				t.Errorf("the output shows the Redis password:\n%s", out)
			}
			for _, crash := range []string{"panic", "goroutine ", "SIGBUS", "fatal error", "nil pointer"} {
				if strings.Contains(out, crash) {
					t.Errorf("the output shows %q:\n%s", crash, out)
				}
			}
		})
	}
}

// TestRedisKilledMidSendsLosesNoKey is the fault campaign's scenario
// through the binary: 240 sends from 8 workers against a Redis ledger,
// Redis killed while sends are in flight and brought back only after the
// bot has given up on recording them directly. Every key DingTalk issued
// ends in the ledger (through the spool), and every send answered 200 or
// 202 has its key there.
func TestRedisKilledMidSendsLosesNoKey(t *testing.T) {
	t.Parallel()
	r := ledgertest.Own(t)
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const gid = "cidRedisOutage"
	_ = srv.AddConversation(gid, dingtalktest.KindGroup, "")
	srv.Delay(dingtalktest.PathGroupSend, 40*time.Millisecond, 100_000)
	dir := t.TempDir()
	addr := freeAddr(t)
	p := startProc(t, srv, procConfig(t, srv, dir, "redis_url: "+r.URL, addr), addr)
	spool := filepath.Join(dir, "spool-"+strings.ReplaceAll(addr, ":", "-"))

	var mu sync.Mutex
	answered := map[string]int{} // key -> HTTP status, for sends answered with a key
	statuses := map[int]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	killed := make(chan struct{})
	var killOnce sync.Once
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= 240; i = next.Add(1) {
				if i == 80 {
					// Redis dies while sends are in flight.
					_ = srv.WaitUntil(context.Background(), func() bool { return srv.InFlight() >= 4 })
					killOnce.Do(func() { r.Kill(); close(killed) })
				}
				status, body := p.api("POST", "/v1/messages", fmt.Sprintf(`{"family":"group","conversation_id":%q,"text":"outage %d-%d"}`, gid, w, i))
				var e ledger.Entry
				_ = json.Unmarshal([]byte(body), &e)
				mu.Lock()
				statuses[status]++
				if e.ProcessQueryKey != "" && (status == 200 || status == 202) {
					answered[e.ProcessQueryKey] = status
				}
				mu.Unlock()
			}
		}()
	}
	<-killed
	// Bring Redis back once the bot has spooled what it could not record.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitFor(ctx, func() bool { fi, err := os.Stat(spool); return err == nil && fi.Size() > 0 }); err != nil {
		t.Fatalf("nothing was spooled: %v", err)
	}
	wg.Wait()
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	// The bot replays the spool by itself within seconds.
	if err := waitFor(ctx, func() bool { fi, err := os.Stat(spool); return err == nil && fi.Size() == 0 }); err != nil {
		t.Fatalf("the spool was not replayed: %v", err)
	}
	if code := p.stop(); code != 0 {
		t.Errorf("SIGTERM: exit %d", code)
	}
	led, err := ledger.OpenRedis(context.Background(), r.URL, ledger.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	issued, inLedger := 0, 0
	for _, m := range srv.BotMessages() {
		issued++
		if e, err := led.ByKey(context.Background(), m.ProcessQueryKey); err == nil && e.State == ledger.Sent {
			inLedger++
		} else {
			t.Errorf("DingTalk issued %s (%q); the ledger has %+v, %v", m.ProcessQueryKey, m.Text, e, err)
		}
	}
	for k, st := range answered {
		if _, err := led.ByKey(context.Background(), k); err != nil {
			t.Errorf("answered %d with key %s, not in the ledger", st, k)
		}
	}
	t.Logf("240 sends: HTTP statuses %v; DingTalk issued %d keys, %d in the ledger", statuses, issued, inLedger)
	if statuses[202] == 0 {
		t.Error("no send was answered 202 (record delayed): the spool was not exercised")
	}
	if err := led.Check(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestDiskFullKeepsKeys: the embedded ledger's disk fills up (a file-size
// limit on the process, so writes fail with EFBIG as on a full disk) while
// sends go on. Sends whose pending entry cannot be written are refused
// (503, nothing sent) and /readyz says not ready; a key DingTalk returned
// after that is spooled. With room again (the limit lifted) /readyz says
// ready by itself, without traffic; after a restart every key DingTalk
// issued is in the ledger.
func TestDiskFullKeepsKeys(t *testing.T) {
	t.Parallel()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) not found")
	}
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const gid = "cidDiskFull"
	_ = srv.AddConversation(gid, dingtalktest.KindGroup, "")
	srv.Delay(dingtalktest.PathGroupSend, 10*time.Millisecond, 100_000)
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "ledger.db")
	addr := freeAddr(t)
	cfg := procConfig(t, srv, dir, "path: "+ledgerPath, addr)

	// The process may not write files beyond 256 KiB: the ledger fills
	// up, its small spool does not.
	limited := &proc{t: t, addr: addr, done: make(chan struct{})}
	logf, _ := os.Create(filepath.Join(dir, "limited.log"))
	limited.log = logf.Name()
	limited.cmd = exec.Command(prlimit, "--fsize=262144:unlimited", binary(t), "run", "-config", cfg)
	limited.cmd.Env = append(os.Environ(), botEnv(srv)...)
	limited.cmd.Stdout, limited.cmd.Stderr = logf, logf
	limited.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := limited.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = limited.cmd.Wait(); _ = logf.Close(); close(limited.done) }()
	t.Cleanup(limited.kill)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := waitFor(ctx, func() bool { st, _ := limited.api("GET", "/healthz", ""); return st == 200 }); err != nil {
		b, _ := os.ReadFile(limited.log)
		t.Fatalf("the bot did not start: %s", b)
	}
	statuses := map[int]int{}
	var mu sync.Mutex
	var full atomic.Bool
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= 5000 && !full.Load(); i = next.Add(1) {
				status, _ := limited.api("POST", "/v1/messages", fmt.Sprintf(`{"family":"group","conversation_id":%q,"text":"disk %d-%d %s"}`, gid, w, i, strings.Repeat("x", 60)))
				mu.Lock()
				statuses[status]++
				if statuses[503] >= 20 {
					full.Store(true)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if !full.Load() {
		t.Fatalf("the ledger never filled up: %v", statuses)
	}
	// It still answers reads, but refuses every send: not ready.
	if st, body := limited.api("GET", "/readyz", ""); st != 503 || !strings.Contains(body, `"ledger_writes_ok":false`) {
		t.Errorf("/readyz with a full disk: %d %s (statuses %v)", st, body, statuses)
	}
	// Room again, without a restart: /readyz comes back by itself, with
	// no send to prove it (the bot probes the ledger while it fails).
	if out, err := exec.Command(prlimit, "--pid", fmt.Sprint(limited.cmd.Process.Pid), "--fsize=unlimited:unlimited").CombinedOutput(); err != nil {
		t.Fatalf("prlimit --pid: %v %s", err, out)
	}
	freed := time.Now()
	if err := waitFor(ctx, func() bool { st, _ := limited.api("GET", "/readyz", ""); return st == 200 }); err != nil {
		st, body := limited.api("GET", "/readyz", "")
		t.Errorf("/readyz with room again and no traffic: %d %s", st, body)
	}
	t.Logf("ready again %v after the disk had room, without a send", time.Since(freed).Round(time.Millisecond))
	if code := limited.stop(); code != 0 {
		t.Errorf("SIGTERM: exit %d", code)
	}
	// Room again: a restart replays the spool.
	p := startProc(t, srv, cfg, addr)
	if code := p.stop(); code != 0 {
		t.Errorf("SIGTERM: exit %d", code)
	}
	led, err := ledger.Open(ledgerPath, ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	if err := led.Check(context.Background()); err != nil {
		t.Error(err)
	}
	issued := 0
	for _, m := range srv.BotMessages() {
		issued++
		if _, err := led.ByKey(context.Background(), m.ProcessQueryKey); err != nil {
			t.Errorf("DingTalk issued %s (%q); the ledger lost it", m.ProcessQueryKey, m.Text)
		}
	}
	t.Logf("sends: HTTP statuses %v; DingTalk issued %d keys, all checked against the ledger", statuses, issued)
}
