// Command benchreport runs recallbot's benchmarks and writes BENCHMARKS.md:
// every figure next to the baseline or limit it is judged against, the
// baselines measured in the same run (the machines are shared and noisy, so
// ratios travel better than absolute figures).
//
//	go run ./tools/benchreport            # writes BENCHMARKS.md (about 3 minutes)
//	go run ./tools/benchreport -o -       # to standard output
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "BENCHMARKS.md", "where to write the report (- for standard output)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// result is one benchmark's metrics by unit ("ns/op", "p99-µs", ...).
type result map[string]float64

// bench runs one go test -bench invocation and returns its results by
// benchmark name (without the -N suffix).
func bench(pkg, pattern, benchtime string) (map[string]result, error) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-timeout", "20m", pkg}
	fmt.Fprintf(os.Stderr, "go %s\n", strings.Join(args, " "))
	cmd := exec.Command(gobin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&buf, os.Stderr), os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test %s %s: %w", pkg, pattern, err)
	}
	out := map[string]result{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		r := result{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r[f[i+1]] = v
			}
		}
		out[name] = r
	}
	return out, nil
}

type row struct {
	measure, figure, against, ratio, verdict string
}

func verdict(ok bool) string {
	if ok {
		return "meets target"
	}
	return "**misses target**"
}

func run(outPath string) error {
	start := time.Now()
	var rows []row
	add := func(r row) { rows = append(rows, r) }

	led, err := bench("./ledger", "^BenchmarkAppend$", "3s")
	if err != nil {
		return err
	}
	serial, conc := led["BenchmarkAppend/serial"]["appends/s"], led["BenchmarkAppend/concurrent64"]["appends/s"]
	add(row{"durable ledger appends/s, 64 concurrent writers (group commit)", fmt.Sprintf("%.0f/s", conc),
		fmt.Sprintf("%.0f/s, one transaction + fsync per append", serial), fmt.Sprintf("%.1fx", conc/serial), verdict(conc/serial >= 5) + " (≥ 5x)"})

	big, err := bench("./ledger", "^(BenchmarkLast20|BenchmarkOpenLarge)$", "2000x")
	if err != nil {
		return err
	}
	l20 := big["BenchmarkLast20"]
	add(row{`"last 20" in a conversation, 1,000,000 entries / 10,000 chats, median`, fmt.Sprintf("%.0f µs (p99 %.0f µs)", l20["p50-µs"], l20["p99-µs"]),
		"limit 50 µs", fmt.Sprintf("%.2f of the limit", l20["p50-µs"]/50), verdict(l20["p50-µs"] < 50)})
	op := big["BenchmarkOpenLarge"]
	add(row{"opening that ledger", fmt.Sprintf("%.2f ms", op["ns/op"]/1e6), "limit 100 ms", fmt.Sprintf("%.3f of the limit", op["ns/op"]/1e6/100), verdict(op["ns/op"]/1e6 < 100)})
	add(row{"Go heap held by that open ledger", fmt.Sprintf("%.2f MB", op["heap-MB"]), "limit 30 MB", fmt.Sprintf("%.3f of the limit", op["heap-MB"]/30), verdict(op["heap-MB"] < 30)})

	plan, err := bench("./ledger", "^BenchmarkPlan10kKeysFrom1M$", "50x")
	if err != nil {
		return err
	}
	for _, k := range []string{"recent", "spread"} {
		ms := plan["BenchmarkPlan10kKeysFrom1M/"+k]["ms/plan"]
		add(row{"planning a recall of 10,000 keys from 1,000,000 entries (" + k + " keys)", fmt.Sprintf("%.1f ms", ms), "limit 20 ms",
			fmt.Sprintf("%.2f of the limit", ms/20), verdict(ms < 20)})
	}

	rc, err := bench("./recall", "^BenchmarkRecallAtAPICeiling$", "1x")
	if err != nil {
		return err
	}
	c := rc["BenchmarkRecallAtAPICeiling"]
	add(row{"recalling 10,000 messages in 500 chats at DingTalk's 20 calls/s", fmt.Sprintf("%.2f s, %.0f HTTP 403", c["s"], c["403s"]),
		"API ceiling 25 s (500 calls ÷ 20/s, 20 keys a call = 400 keys/s)", fmt.Sprintf("%.3fx the ceiling", c["x-ceiling"]), verdict(c["x-ceiling"] <= 1.05 && c["403s"] == 0) + " (≤ 1.05x, no 403)"})

	emu, err := bench("./dingtalk/dingtalktest", "^(BenchmarkStreamFramesACKed|BenchmarkOpenAPICalls)$", "20000x")
	if err != nil {
		return err
	}
	raw := emu["BenchmarkStreamFramesACKed"]["frames/s"]
	bot, err := bench(".", "^(BenchmarkCommandBurst|BenchmarkCommandToRecallCall)$", "1x")
	if err != nil {
		return err
	}
	burst := bot["BenchmarkCommandBurst"]
	add(row{"burst of 5,000 command frames: ACK rate", fmt.Sprintf("%.0f/s", burst["acked/s"]), fmt.Sprintf("%.0f/s, the raw SDK with a trivial handler", raw),
		fmt.Sprintf("%.2f of raw", burst["acked/s"]/raw), fmt.Sprintf("%.0f extra runs, %.0f lost or redelivered", burst["extra-runs"], burst["lost+redelivered"])})
	add(row{"burst of 5,000 commands: answered (dedupe, reply sent and ledgered)", fmt.Sprintf("%.0f/s", burst["answered/s"]), "—", "—", "each ran once"})
	lat := bot["BenchmarkCommandToRecallCall"]
	add(row{"bot's own latency, command frame → first recall API call (1M-entry ledger)", fmt.Sprintf("p50 %.2f ms, p99 %.2f ms", lat["p50-ms"], lat["p99-ms"]),
		fmt.Sprintf("frame → ACK round trip %.2f ms; limit p99 5 ms", lat["ack-p50-ms"]), fmt.Sprintf("p99 %.2f of the limit", lat["p99-ms"]/5), verdict(lat["p99-ms"] < 5)})
	add(row{"emulator: frames pushed and ACKed on one SDK connection", fmt.Sprintf("%.0f/s", raw), "target 5,000/s", fmt.Sprintf("%.1fx", raw/5000), verdict(raw >= 5000)})
	calls := emu["BenchmarkOpenAPICalls"]["calls/s"]
	add(row{"emulator: OpenAPI calls on loopback", fmt.Sprintf("%.0f/s", calls), "target 2,000/s", fmt.Sprintf("%.1fx", calls/2000), verdict(calls >= 2000)})

	det, err := bench("./autorecall", "^BenchmarkDetectors$", "2s")
	if err != nil {
		return err
	}
	us := det["BenchmarkDetectors"]["ns/op"] / 1000
	add(row{"auto-recall detectors, default rules, per 2 KB message", fmt.Sprintf("%.1f µs", us), "limit 50 µs", fmt.Sprintf("%.2f of the limit", us/50), verdict(us < 50)})

	fo, err := failoverFigure()
	if err != nil {
		return err
	}
	add(row{"Sentinel failover mid-burst, min_replicas 1: keys DingTalk issued that are in the ledger", fmt.Sprintf("%d of %d", fo.inLedger, fo.issued),
		"every key issued", fmt.Sprintf("new primary after %s", fo.promoted), verdict(fo.issued > 0 && fo.inLedger == fo.issued)})

	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `go run ./tools/benchreport` on %s in %s. Each figure stands next to its baseline, measured in the\nsame run, or its limit from the issues.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), time.Since(start).Round(time.Second))
	fmt.Fprintf(&b, "Machine: %s\n\n", machine())
	b.WriteString("| measure | figure | baseline or limit | ratio | verdict |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.measure, r.figure, r.against, r.ratio, r.verdict)
	}
	b.WriteString(`
How each is measured (run any alone with the command shown):

- Ledger: ` + "`go test -run '^$' -bench 'Append|Last20|OpenLarge|Plan10k' ./ledger`" + `. The 1,000,000-entry ledger is built once into
  $TMPDIR (about 500 MB, 10 s) and read once into the page cache; "last 20" first touches every chat, so its figure is a
  running bot's steady state, not the first query after Open.
- Recall throughput: ` + "`go test -run '^$' -bench RecallAtAPICeiling -benchtime 1x ./recall`" + ` (the emulator enforces 20 calls/s per API).
- Bot: ` + "`go test -run '^$' -bench 'CommandBurst|CommandToRecallCall' -benchtime 1x .`" + `; the latency waits for each command's
  reply before the next, so each figure is the bot's own, not a queue.
- Emulator and detectors: ` + "`go test -run '^$' -bench . ./dingtalk/dingtalktest ./autorecall`" + `.
- Failover: ` + "`go test -run TestSentinelFailoverLosesNoKey -v .`" + ` (redis-server and redis-sentinel on loopback: a primary, a
  replica, three Sentinels; the primary SIGKILLed with sends in flight; its test log line holds the figure).
`)
	if outPath == "-" {
		_, err := io.WriteString(os.Stdout, b.String())
		return err
	}
	return os.WriteFile(outPath, []byte(b.String()), 0o644)
}

// failover is the figure TestSentinelFailoverLosesNoKey logs.
type failover struct {
	issued, inLedger int
	promoted         string
}

var failoverLine = regexp.MustCompile(`failover figure: keys issued (\d+), keys in ledger (\d+); .*new primary after (\S+),`)

// failoverFigure runs the failover test and reads its figure from its log.
func failoverFigure() (failover, error) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	args := []string{"test", "-run", "^TestSentinelFailoverLosesNoKey$", "-count", "1", "-v", "."}
	fmt.Fprintf(os.Stderr, "go %s\n", strings.Join(args, " "))
	out, err := exec.Command(gobin, args...).CombinedOutput()
	if err != nil {
		return failover{}, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	m := failoverLine.FindSubmatch(out)
	if m == nil {
		return failover{}, fmt.Errorf("no failover figure in the test's output (is redis-sentinel installed?)\n%s", out)
	}
	var f failover
	f.issued, _ = strconv.Atoi(string(m[1]))
	f.inLedger, _ = strconv.Atoi(string(m[2]))
	f.promoted = string(m[3])
	return f, nil
}

func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				_, model, _ = strings.Cut(line, ": ")
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])
		if len(f) >= 2 {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf(", %.0f GiB memory", kb/1024/1024)
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s)%s, %s %s/%s, shared and noisy", runtime.NumCPU(), strings.TrimSpace(model), mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
