// Package synthetic builds large ledgers for benchmarks and load tests: a
// million sent entries in seconds, shared between runs.
package synthetic

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// BuildSynthetic writes a ledger of n sent entries spread round-robin over
// chats private conversations, for benchmarks and load tests: entry i has
// key "key%08d" and chat "cid%05d" (i mod chats), sent a millisecond apart
// ending an hour ago. It imports without fsync, then syncs once, so a
// million entries take seconds. The file must not exist.
func BuildSynthetic(path string, n, chats int) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("ledger %s already exists", path)
	}
	s, err := ledger.Open(path, ledger.BoltOptions{NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now().Add(-time.Hour - time.Duration(n)*time.Millisecond)
	entries := func(yield func(ledger.Entry) bool) {
		for i := range n {
			at := start.Add(time.Duration(i) * time.Millisecond)
			e := ledger.Entry{Chat: ledger.Chat{Family: ledger.Private, ConversationID: fmt.Sprintf("cid%05d", i%chats)},
				ProcessQueryKey: fmt.Sprintf("key%08d", i), MsgKey: "sampleText", Excerpt: "disk 93% on db-7, please check",
				ContentHash: "0123456789abcdef", SentAt: at, UpdatedAt: at, Origin: ledger.OriginAPI, State: ledger.Sent}
			if !yield(e) {
				return
			}
		}
	}
	got, err := s.Import(iter.Seq[ledger.Entry](entries))
	if err == nil && got != n {
		err = fmt.Errorf("imported %d entries of %d", got, n)
	}
	return err
}

// Big ledger sizes: BigLedger's entries and conversations.
const (
	BigEntries = 1_000_000
	BigChats   = 10_000
)

// bigCache names the cached big ledger. Its version must change whenever
// what BuildSynthetic writes would be read differently: the entry codec
// (ledger/codec.go), the bbolt schema or the synthetic entries themselves.
// v3 was chosen before codec v2 gained the recipients of packed oto keys;
// a v3 file's entries no longer decode ("ledger: corrupt entry"), so v4.
const bigCache = "recallbot-bench-1m-v4.db"

var big struct {
	once sync.Once
	path string
	err  error
}

// BigLedger returns the path of a 1,000,000-entry ledger (BuildSynthetic,
// 10,000 chats), built on first use into the temporary directory and
// reused by later runs (~15 s to build, ~800 MB). A cached file is reused
// only if it holds every entry and its entries decode; anything else is
// rebuilt. Callers must not write to it: copy it first.
func BigLedger(tb testing.TB) string {
	tb.Helper()
	big.once.Do(func() {
		big.path = filepath.Join(os.TempDir(), bigCache)
		if s, err := ledger.Open(big.path, ledger.BoltOptions{}); err == nil {
			c, _ := s.Counts(context.Background())
			first, lerr := s.List(context.Background(), ledger.Query{Chat: ledger.Chat{Family: ledger.Private, ConversationID: fmt.Sprintf("cid%05d", 0)}, Limit: 1})
			_ = s.Close()
			if c.Total() == BigEntries && lerr == nil && len(first) == 1 {
				return
			}
		}
		_ = os.Remove(big.path)
		big.err = BuildSynthetic(big.path, BigEntries, BigChats)
	})
	if big.err != nil {
		tb.Fatal(big.err)
	}
	return big.path
}
