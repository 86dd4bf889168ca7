package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// BenchmarkPlan10kKeysFrom1M plans a recall of 10,000 keys from the
// 1,000,000-entry ledger: resolve, classify, count calls. Target: under
// 20 ms. "recent" is the usual case (a broadcast's keys are neighbours);
// "spread" takes every 97th key across the whole ledger, the worst case.
func BenchmarkPlan10kKeysFrom1M(b *testing.B) {
	s, err := ledger.Open(bigLedger(b), ledger.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	eng := recall.New(s, nil, zap.NewNop(), recall.Config{Window: 1 << 62})
	for _, tc := range []struct {
		name string
		key  func(i int) int
	}{
		{"recent", func(i int) int { return 1_000_000 - 10_000 + i }},
		{"spread", func(i int) int { return (i * 97) % 1_000_000 }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			keys := make([]string, 10_000)
			for i := range keys {
				keys[i] = fmt.Sprintf("key%08d", tc.key(i))
			}
			_, _ = eng.Plan(context.Background(), recall.Selection{Keys: keys}) // fault the pages in once
			b.ResetTimer()
			for range b.N {
				r, err := eng.Plan(context.Background(), recall.Selection{Keys: keys})
				if err != nil || r.Count(recall.WouldRecall) != len(keys) {
					b.Fatalf("%v %s", err, r.Summary("en"))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/plan")
		})
	}
}
