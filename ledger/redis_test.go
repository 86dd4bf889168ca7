package ledger

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// One real redis-server serves the package's tests: started on first use on
// a free loopback port with a temporary directory and AOF with fsync on
// every write (the configuration the README recommends), stopped by
// TestMain. Each test gets its own key prefix.
var testRedis struct {
	once sync.Once
	url  string
	cmd  *exec.Cmd
	dir  string
	skip string
	n    atomic.Int64
}

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	code := m.Run()
	if testRedis.cmd != nil {
		_ = testRedis.cmd.Process.Kill()
		_ = testRedis.cmd.Wait()
		_ = os.RemoveAll(testRedis.dir)
	}
	os.Exit(code)
}

// StartRedis starts redis-server for tests and returns its URL, or a reason
// to skip.
func startRedis() (url string, cmd *exec.Cmd, dir, skip string) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, "", "redis-server not found: install it (apt-get install redis-server, as .ci/run does) to run the Redis ledger tests"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, "", err.Error()
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir, err = os.MkdirTemp("", "recallbot-redis-")
	if err != nil {
		return "", nil, "", err.Error()
	}
	cmd = exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--loglevel", "notice")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return "", nil, "", err.Error()
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
	select {
	case ok := <-ready:
		if ok {
			return fmt.Sprintf("redis://127.0.0.1:%d/0", port), cmd, dir, ""
		}
	case <-time.After(20 * time.Second):
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return "", nil, "", "redis-server did not start"
}

func openTestRedis(t testing.TB) *Redis {
	t.Helper()
	testRedis.once.Do(func() {
		testRedis.url, testRedis.cmd, testRedis.dir, testRedis.skip = startRedis()
	})
	if testRedis.skip != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs the Redis tests: %s", testRedis.skip)
		}
		t.Skip(testRedis.skip)
	}
	prefix := fmt.Sprintf("test%d:", testRedis.n.Add(1))
	s, err := OpenRedis(context.Background(), testRedis.url, RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisRefusesForeignKeys(t *testing.T) {
	s := openTestRedis(t)
	ctx := context.Background()
	if err := s.c.Set(ctx, "foreign:meta", "something else", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := OpenRedis(ctx, testRedis.url, RedisOptions{Prefix: "foreign:"})
	if err == nil || !strings.Contains(err.Error(), "not a recallbot ledger") {
		t.Errorf("OpenRedis on foreign keys: %v", err)
	}
	if _, err := OpenRedis(ctx, "http://nope", RedisOptions{}); err == nil || !strings.Contains(err.Error(), "ledger.redis_url") {
		t.Errorf("bad URL: %v", err)
	}
}

// TestTwoRedisClientsClaimOnce is two instances racing for the same keys.
func TestTwoRedisClientsClaimOnce(t *testing.T) {
	a := openTestRedis(t)
	b, err := OpenRedis(context.Background(), testRedis.url, RedisOptions{Prefix: a.p})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var list []uint64
	for range 50 {
		list = append(list, mustSend(t, a, chatA, "x").ID)
	}
	var wg sync.WaitGroup
	var got [2][]Entry
	for i, s := range []*Redis{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claimed, _, _, err := s.Claim(context.Background(), list, time.Now())
			if err != nil {
				t.Error(err)
			}
			got[i] = claimed
		}()
	}
	wg.Wait()
	if n := len(got[0]) + len(got[1]); n != len(list) {
		t.Errorf("claimed %d + %d, want %d in all", len(got[0]), len(got[1]), len(list))
	}
}
