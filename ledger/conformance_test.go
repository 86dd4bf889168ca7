package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// conformanceCases numbers the Redis cases of the test binary: with
// -count=N the cases run N times on one shared server, and a number
// counted per run gave the second run the first one's keys ("ByKey before
// send: <nil>, want ErrNotFound").
var conformanceCases atomic.Int64

// TestConformance holds both stores to the ledger's contract: the
// embedded bbolt file, and Redis when a redis-server is available (under
// CI it must be).
func TestConformance(t *testing.T) {
	t.Run("bolt", func(t *testing.T) {
		ledgertest.Run(t, func(t *testing.T) ledger.Store {
			s, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.BoltOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	t.Run("redis", func(t *testing.T) {
		ledgertest.Run(t, func(t *testing.T) ledger.Store {
			// One server for the test binary; each case under a key
			// prefix of its own, in every run of -count too.
			r := ledgertest.Shared(t)
			s, err := ledger.OpenRedis(context.Background(), r.URL, ledger.RedisOptions{Prefix: fmt.Sprintf("conformance%d:", conformanceCases.Add(1))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
}
