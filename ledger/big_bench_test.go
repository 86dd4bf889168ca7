package ledger_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/synthetic"
)

// bigLedger is the shared 1,000,000-entry benchmark ledger, read once so
// the page cache holds it: the benchmarks measure a running bot's steady
// state, not the disk.
func bigLedger(b *testing.B) string {
	path := synthetic.BigLedger(b)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	_, _ = io.Copy(io.Discard, f)
	return path
}

// BenchmarkLast20 is "last 20 in a conversation" on the 1,000,000-entry
// ledger, against its baseline measured in the same run on the same open
// file: a bare bbolt cursor reading the same 20 entries' bytes
// (ledger.RawLast), without decoding or filtering. The two alternate,
// query by query, in turns, so noise falls on both alike. It reports each
// one's median and p99, and the ratio of the medians (x-bare).
func BenchmarkLast20(b *testing.B) {
	s, err := ledger.Open(bigLedger(b), ledger.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	chat := func(i int) ledger.Chat {
		return ledger.Chat{Family: ledger.Private, ConversationID: fmt.Sprintf("cid%05d", i%synthetic.BigChats)}
	}
	// A running bot has its ledger's pages mapped; fault them in first so
	// the figure is the steady state, not the first touch after Open.
	for c := range synthetic.BigChats {
		_, _ = s.List(context.Background(), ledger.Query{Chat: chat(c), Limit: 20})
	}
	lat := make([]time.Duration, 0, b.N)
	bare := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		c := chat(i * 7919)
		for turn := range 2 {
			t0 := time.Now()
			if (i+turn)%2 == 0 {
				got, err := s.List(context.Background(), ledger.Query{Chat: c, Limit: 20})
				lat = append(lat, time.Since(t0))
				if err != nil || len(got) != 20 {
					b.Fatalf("got %d, %v", len(got), err)
				}
			} else {
				n, _, err := ledger.RawLast(s, c, 20)
				bare = append(bare, time.Since(t0))
				if err != nil || n != 20 {
					b.Fatalf("bare cursor read %d, %v", n, err)
				}
			}
		}
	}
	b.StopTimer()
	p50, p99 := quantiles(lat)
	bp50, bp99 := quantiles(bare)
	b.ReportMetric(us(p50), "p50-µs")
	b.ReportMetric(us(p99), "p99-µs")
	b.ReportMetric(us(bp50), "bare-p50-µs")
	b.ReportMetric(us(bp99), "bare-p99-µs")
	b.ReportMetric(float64(p50)/float64(max(bp50, 1)), "x-bare")
}

// quantiles returns the median and the 99th percentile of ds (sorted in
// place).
func quantiles(ds []time.Duration) (p50, p99 time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)*99/100]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// smallLedger builds a 10,000-entry ledger (100 chats) in dir: the
// baseline of opening the big one, since opening reads no entries.
func smallLedger(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "small.db")
	if err := synthetic.BuildSynthetic(path, 10_000, 100); err != nil {
		b.Fatal(err)
	}
	return path
}

// openHeld opens the ledger at path, reads "last 20" once, and returns how
// long the open took and the Go heap the open ledger holds.
func openHeld(b *testing.B, path, cid string) (time.Duration, uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	s, err := ledger.Open(path, ledger.BoltOptions{})
	took := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	if got, err := s.List(context.Background(), ledger.Query{Chat: ledger.Chat{Family: ledger.Private, ConversationID: cid}, Limit: 20}); err != nil || len(got) == 0 {
		b.Fatalf("got %d, %v", len(got), err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := after.HeapAlloc - min(before.HeapAlloc, after.HeapAlloc)
	_ = s.Close()
	return took, heap
}

// BenchmarkOpenLarge opens the 1,000,000-entry ledger and reports the Go
// heap an open ledger holds, each against the same for a 10,000-entry
// ledger opened in turns with it (opening reads no entries: a large
// ledger should open about as fast, and hold about as little, as a small
// one). It reports medians over b.N opens of each, and the big file's
// size (the heap is judged as a share of it).
func BenchmarkOpenLarge(b *testing.B) {
	path, small := bigLedger(b), smallLedger(b)
	var open, smallOpen []time.Duration
	var heap, smallHeap []time.Duration // bytes, sorted as durations
	b.ResetTimer()
	for i := range b.N {
		for turn := range 2 {
			if (i+turn)%2 == 0 {
				d, h := openHeld(b, path, "cid00042")
				open, heap = append(open, d), append(heap, time.Duration(h))
			} else {
				d, h := openHeld(b, small, "cid00042")
				smallOpen, smallHeap = append(smallOpen, d), append(smallHeap, time.Duration(h))
			}
		}
	}
	b.StopTimer()
	o, _ := quantiles(open)
	so, _ := quantiles(smallOpen)
	h, _ := quantiles(heap)
	sh, _ := quantiles(smallHeap)
	b.ReportMetric(float64(o.Microseconds())/1000, "open-ms")
	b.ReportMetric(float64(so.Microseconds())/1000, "small-open-ms")
	b.ReportMetric(float64(h)/(1<<20), "heap-MB")
	b.ReportMetric(float64(sh)/(1<<20), "small-heap-MB")
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
	}
}
