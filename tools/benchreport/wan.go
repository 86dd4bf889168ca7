package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/recallbot/recallbot/internal/cpuload"
)

// The WAN rows: a recall and a broadcast of 200 calls at DingTalk's own
// 20 calls/s, with DingTalk 30, 100 and 300 ms away and each way varying
// by ±20 ms (BenchmarkWANRecall, BenchmarkWANBroadcast), first on the
// machine as it is, then with every core kept busy by this process.

var runWAN = run1{"./recall", "^(BenchmarkWANRecall|BenchmarkWANBroadcast)$", "1x"}

// wanRTTs are the round trips the WAN benchmarks report, as they name them.
var wanRTTs = []string{"30ms", "100ms", "300ms"}

// wanJobs are the WAN benchmarks' jobs: their name and what they do.
var wanJobs = []struct{ name, what string }{
	{"Recall", "recall 4,000 keys in 200 chats (200 calls)"},
	{"Broadcast", "broadcast to 4,000 users, 20 a call (200 calls)"},
}

// wanRows runs the WAN benchmarks on the machine as it is and, if loaded,
// again with every core kept busy, and returns their rows.
func wanRows(runOne func(run1) map[string]result, loaded bool) []row {
	var rows []row
	add := func(res map[string]result, load string) {
		for _, job := range wanJobs {
			for _, rtt := range wanRTTs {
				rows = append(rows, wanRow(job.what, rtt, load, res[fmt.Sprintf("BenchmarkWAN%s/rtt=%s", job.name, rtt)]))
			}
		}
	}
	before := loadAverage()
	add(runOne(runWAN), fmt.Sprintf("unloaded pass (the machine as it was: load average %s at its start)", before))
	if loaded {
		stop := burn()
		res := runOne(runWAN)
		load := loadAverage()
		stop()
		add(res, fmt.Sprintf("loaded pass: %d goroutines spinning in benchreport, one per core (load average %s at its end)", runtime.NumCPU(), load))
	}
	return rows
}

// wanRow is one WAN job's row: its time against its 10 s ceiling, and
// beside it the bound the jitter sets on any client.
func wanRow(what, rtt, load string, r result) row {
	measure := fmt.Sprintf("%s at DingTalk's 20 calls/s (sliding), round trip %s, each way ±20 ms; %s", what, rtt, load)
	how := runWAN.command()
	if strings.HasPrefix(load, "loaded") {
		how += " while `go run ./tools/benchreport -burn` keeps every core busy"
	}
	if !r.has("s", "x-ceiling", "403s", "max-in-flight", "margin-ms", "spread-ms", "limit-qps", "calls", "first-call-ms", "last-call-s") {
		return missing(measure, runWAN)
	}
	q, spread := r["limit-qps"], r["spread-ms"]
	ceiling := r["calls"] / q
	bound := 1000 / (1000 + spread)
	ok := r["x-ceiling"] <= ceilingTarget && r["403s"] == 0
	return row{measure,
		fmt.Sprintf("%.2f s, %.0f HTTP 403; up to %.0f calls in flight; margin learnt %.0f ms; first call took effect after %.0f ms, the last at %.2f s",
			r["s"], r["403s"], r["max-in-flight"], r["margin-ms"], r["first-call-ms"], r["last-call-s"]),
		fmt.Sprintf("ceiling %.0f s (%.0f calls ÷ %.0f/s); the way there varies by S = %.0f ms, so no client can use more than %.3f of the quota without a refusal (a long job: %.3fx its ceiling)",
			ceiling, r["calls"], q, spread, bound, 1/bound),
		fmt.Sprintf("%.3fx the ceiling", r["x-ceiling"]),
		judge(ok, fmt.Sprintf("≤ %.2fx, no 403", ceilingTarget)), how}
}

// burn keeps every core busy until the returned stop is called: the
// loaded pass's load, in this process so that it ends with it. It is the
// load tools/load puts on the machine for the tests (internal/cpuload).
func burn() (stop func()) {
	return cpuload.Start(runtime.NumCPU())
}

// burnUntilInterrupted is -burn: load the machine as the loaded pass does,
// for another command, until Ctrl-C.
func burnUntilInterrupted() {
	fmt.Fprintf(os.Stderr, "benchreport: %d goroutines spinning, one per core; Ctrl-C stops\n", runtime.NumCPU())
	stop := burn()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	stop()
}
