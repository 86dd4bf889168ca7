package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// BenchmarkPlan10kKeysFrom1M plans a recall of 10,000 keys from the
// 1,000,000-entry ledger (resolve, classify, count calls) against its
// baseline measured in the same run on the same open file: bare bbolt
// lookups of the same 10,000 keys in the key index (ledger.RawKeys), one
// read transaction, nothing decoded. The two alternate, in turns. "recent"
// is the usual case (a broadcast's keys are neighbours); "spread" takes
// every 97th key across the whole ledger, the worst case. It reports the
// median of each and their ratio (x-bare).
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
			var plan, bare []time.Duration
			b.ResetTimer()
			for i := range b.N {
				for turn := range 2 {
					t0 := time.Now()
					if (i+turn)%2 == 0 {
						r, err := eng.Plan(context.Background(), recall.Selection{Keys: keys})
						plan = append(plan, time.Since(t0))
						if err != nil || r.Count(recall.WouldRecall) != len(keys) {
							b.Fatalf("%v %s", err, r.Summary("en"))
						}
					} else {
						n, err := ledger.RawKeys(s, keys)
						bare = append(bare, time.Since(t0))
						if err != nil || n != len(keys) {
							b.Fatalf("bare lookups found %d, %v", n, err)
						}
					}
				}
			}
			b.StopTimer()
			p, _ := quantiles(plan)
			bp, _ := quantiles(bare)
			b.ReportMetric(float64(p.Microseconds())/1000, "ms/plan")
			b.ReportMetric(float64(bp.Microseconds())/1000, "bare-ms")
			b.ReportMetric(float64(p)/float64(max(bp, 1)), "x-bare")
		})
	}
}
