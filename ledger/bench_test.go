package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// BenchmarkAppend compares durable appends: one writer, one transaction
// (and fsync) per append — the baseline — against 64 concurrent writers
// whose appends are group-committed. Target: concurrent >= 5x serial.
func BenchmarkAppend(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b)
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.Append(context.Background(), Entry{Chat: Chat{Family: Group, ConversationID: fmt.Sprint("c", i%20)}, MsgKey: "sampleText", Excerpt: "hello"}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
	b.Run("concurrent64", func(b *testing.B) {
		s := benchStore(b)
		b.SetParallelism(32) // x GOMAXPROCS(2) = 64 writers
		b.ResetTimer()
		var n int64
		var mu sync.Mutex
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Append(context.Background(), Entry{Chat: Chat{Family: Group, ConversationID: fmt.Sprint("c", i%20)}, MsgKey: "sampleText", Excerpt: "hello"}); err != nil {
					b.Error(err)
					return
				}
				i++
			}
			mu.Lock()
			n += int64(i)
			mu.Unlock()
		})
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "appends/s")
	})
}

func benchStore(b *testing.B) *Bolt {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}
