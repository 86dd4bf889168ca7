package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the Sentinels of StartHA monitor.
const MasterName = "recallbot"

// HA is a Sentinel-managed Redis on loopback, as docs/operations.md's HA setup
// describes it: a primary, one replica, and three Sentinels (quorum 2),
// with timers tight enough for a test: a primary silent for 500 ms is
// down, and a failover completes in a second or two.
type HA struct {
	// Primary and Replica are the data servers as started; after a
	// failover their roles are swapped (see Master).
	Primary, Replica *Redis
	Sentinels        []*Sentinel
	// Password is the data servers' (requirepass), or "".
	Password string
}

// Sentinel is a running redis-sentinel.
type Sentinel struct {
	Addr string
	cmd  *exec.Cmd
	dir  string
}

// SentinelSkipReason is why Sentinel tests cannot run here, or "".
func SentinelSkipReason() string {
	if r := SkipReason(); r != "" {
		return r
	}
	if _, err := exec.LookPath("redis-sentinel"); err != nil {
		return "redis-sentinel not found: install it (apt-get install redis-sentinel, as .ci/run does) to run the failover tests"
	}
	return ""
}

// StartHA starts a primary, a replica replicating from it, and three
// Sentinels that know both and each other, and stops them all when the
// test ends. Without redis-sentinel the test is skipped, saying how to
// enable it, except under CI, where that is a failure. A non-empty
// password protects the data servers (the Sentinels are not protected).
func StartHA(t testing.TB, password string) *HA {
	t.Helper()
	if reason := SentinelSkipReason(); reason != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs the failover tests: %s", reason)
		}
		t.Skip(reason)
	}
	var auth []string
	if password != "" {
		auth = []string{"--requirepass", password, "--masterauth", password}
	}
	h := &HA{Password: password}
	h.Primary = Own(t, auth...)
	h.Replica = Own(t, append(auth, "--replicaof", "127.0.0.1", strconv.Itoa(h.Primary.port))...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Replica.WaitReplicating(ctx, password); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s, err := startSentinel(h.Primary.port, password)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		h.Sentinels = append(h.Sentinels, s)
	}
	// A failover needs Sentinels that know the replica and each other
	// (they meet through the primary every 2 s).
	if err := h.poll(ctx, func() bool {
		for _, s := range h.Sentinels {
			c := s.client()
			replicas, err1 := c.Replicas(ctx, MasterName).Result()
			peers, err2 := c.Sentinels(ctx, MasterName).Result()
			_ = c.Close()
			if err1 != nil || err2 != nil || len(peers) != len(h.Sentinels)-1 || len(replicas) != 1 || replicas[0]["flags"] != "slave" {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("the Sentinels did not meet: %v", err)
	}
	return h
}

// URL is the ledger.redis_url of this setup, in go-redis's failover form;
// password stands for the data servers' password (such as a ${VAR}
// reference), or is left out when "".
func (h *HA) URL(password string) string {
	q := url.Values{"master_name": {MasterName}}
	for _, s := range h.Sentinels[1:] {
		q.Add("addr", s.Addr)
	}
	if password != "" {
		q.Set("password", password)
	}
	return "redis://" + h.Sentinels[0].Addr + "/0?" + strings.NewReplacer("%24%7B", "${", "%7D", "}").Replace(q.Encode())
}

// Master is the primary's address as the Sentinels see it now.
func (h *HA) Master(ctx context.Context) (string, error) {
	var errs []error
	for _, s := range h.Sentinels {
		c := s.client()
		addr, err := c.GetMasterAddrByName(ctx, MasterName).Result()
		_ = c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

// WaitForMaster polls until every Sentinel names a primary other than
// old, and returns it: the failover is over once they agree.
func (h *HA) WaitForMaster(ctx context.Context, old string) (string, error) {
	var now string
	err := h.poll(ctx, func() bool {
		for i, s := range h.Sentinels {
			c := s.client()
			addr, err := c.GetMasterAddrByName(ctx, MasterName).Result()
			_ = c.Close()
			if err != nil || len(addr) != 2 {
				return false
			}
			a := net.JoinHostPort(addr[0], addr[1])
			if a == old || i > 0 && a != now {
				return false
			}
			now = a
		}
		return true
	})
	return now, err
}

// ByAddr returns the data server at addr.
func (h *HA) ByAddr(addr string) *Redis {
	if h.Replica.Addr == addr {
		return h.Replica
	}
	return h.Primary
}

// poll checks cond every 20 ms until it holds or ctx ends.
func (h *HA) poll(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// WaitReplicating polls until this server is a replica whose link to its
// primary is up (the initial sync done).
func (r *Redis) WaitReplicating(ctx context.Context, password string) error {
	c := redis.NewClient(&redis.Options{Addr: r.Addr, Password: password, MaxRetries: -1})
	defer c.Close()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is not replicating: %w (last: %v)", r.Addr, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// RestartReplicaOf starts a killed server again, as a replica of the
// primary at addr: what an operator does with a failed primary once a
// replica took its place (Sentinel would convert it too, but only some
// seconds after it is back).
func (r *Redis) RestartReplicaOf(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	var args []string
	for i := 0; i < len(r.args); i++ {
		if r.args[i] == "--replicaof" {
			i += 2
			continue
		}
		args = append(args, r.args[i])
	}
	r.args = append(args, "--replicaof", host, port)
	return r.Restart()
}

// startSentinel runs a redis-sentinel on a free loopback port that
// monitors the primary on primaryPort.
func startSentinel(primaryPort int, password string) (*Sentinel, error) {
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "recallbot-sentinel-")
	if err != nil {
		return nil, err
	}
	conf := []string{
		fmt.Sprintf("port %d", port), "bind 127.0.0.1", "daemonize no", "dir " + dir,
		"logfile " + filepath.Join(dir, "sentinel.log"),
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2", MasterName, primaryPort),
		"sentinel down-after-milliseconds " + MasterName + " 500",
		"sentinel failover-timeout " + MasterName + " 3000",
		"sentinel parallel-syncs " + MasterName + " 1",
	}
	if password != "" {
		conf = append(conf, "sentinel auth-pass "+MasterName+" "+password)
	}
	path := filepath.Join(dir, "sentinel.conf") // Sentinel rewrites it: it must be writable
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &Sentinel{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, dir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := s.client()
	defer c.Close()
	for c.Ping(ctx).Err() != nil {
		select {
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("redis-sentinel did not start on %s", s.Addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return s, nil
}

func (s *Sentinel) client() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
}

// Log is what the Sentinel logged, for a failing test.
func (s *Sentinel) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "sentinel.log"))
	return string(b)
}

// Stop kills the Sentinel and removes its directory.
func (s *Sentinel) Stop() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
	_ = os.RemoveAll(s.dir)
}

// freePort returns a loopback port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
