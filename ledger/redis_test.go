package ledger

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recallbot/recallbot/internal/redistest"
)

var prefixes atomic.Int64

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// openTestRedis opens the shared ledger on the package's redis-server under
// a key prefix of the test's own.
func openTestRedis(t testing.TB) *Redis {
	t.Helper()
	r := redistest.Shared(t)
	s, err := OpenRedis(context.Background(), r.URL, RedisOptions{Prefix: fmt.Sprintf("test%d:", prefixes.Add(1))})
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
	_, err := OpenRedis(ctx, redistest.Shared(t).URL, RedisOptions{Prefix: "foreign:"})
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
	b, err := OpenRedis(context.Background(), redistest.Shared(t).URL, RedisOptions{Prefix: a.p})
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
			claimed, _, _, err := s.Claim(context.Background(), list, by(time.Now()))
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
