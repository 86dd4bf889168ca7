package recall_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// BenchmarkBroadcastStartHeap records a broadcast to 100,000 oto users (the
// Broadcaster's Start: checking the targets, finding the repeats, writing
// the job and its 5,000 steps to a bbolt ledger) while the Go heap held
// (live after a collection) is sampled every 5 ms. Its metrics are the
// request's own heap (the targets, the baseline), the most held while
// Start ran, and their ratio (goal: at most 2).
func BenchmarkBroadcastStartHeap(b *testing.B) {
	for range b.N {
		b.StopTimer()
		led, err := ledger.Open(filepath.Join(b.TempDir(), "ledger.db"), ledger.BoltOptions{})
		if err != nil {
			b.Fatal(err)
		}
		bc := recall.NewBroadcaster(led, nil, zap.NewNop(), recall.BroadcastConfig{})
		runtime.GC()
		base := heapLive()
		chats := make([]ledger.Chat, castRecipients)
		for i := range chats {
			chats[i] = ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("user%06d", i)}
		}
		runtime.GC()
		request := heapLive() - base
		stop, peak := make(chan struct{}), make(chan uint64)
		go func() {
			most := uint64(0)
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					peak <- most
					return
				case <-t.C:
					runtime.GC()
					most = max(most, heapLive())
				}
			}
		}()
		b.StartTimer()
		if _, err := bc.Start(context.Background(), recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("maintenance tonight"), Actor: "api:bench"}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.KeepAlive(chats)
		close(stop)
		held := <-peak - base
		_ = led.Close()
		b.ReportMetric(float64(request)/(1<<20), "heap-request-MB")
		b.ReportMetric(float64(held)/(1<<20), "heap-peak-MB")
		b.ReportMetric(float64(held)/float64(request), "heap-peak-x-request")
		b.StartTimer()
	}
}

func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
