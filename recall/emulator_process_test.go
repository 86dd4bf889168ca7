package recall_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// emulatorChildEnv, when set in the environment of this test binary, makes
// it an emulator process instead of running tests: the broadcast benchmark
// runs the emulator in a process of its own, so that the Go heap it
// measures is the bot's, not the emulator's record of 100,000 chats. The
// value is the emulator's limit: "QPS" or "QPS,sliding".
const emulatorChildEnv = "RECALLBOT_BENCH_EMULATOR"

func TestMain(m *testing.M) {
	if v := os.Getenv(emulatorChildEnv); v != "" {
		os.Exit(serveEmulator(v))
	}
	os.Exit(m.Run())
}

// serveEmulator runs an emulator with the limit spec gives, prints its URL,
// and then obeys standard input line by line ("qps N" changes the limit)
// until it closes.
func serveEmulator(spec string) int {
	qps, sliding, _ := strings.Cut(spec, ",")
	n, err := strconv.Atoi(qps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulator child:", err)
		return 2
	}
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: n, SlidingWindow: sliding == "sliding"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulator child:", err)
		return 1
	}
	defer srv.Close()
	fmt.Println(srv.URL())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "qps" {
			if n, err := strconv.Atoi(f[1]); err == nil {
				srv.SetQPS(n)
			}
		}
		fmt.Println("ok")
	}
	return 0
}

// emulatorProcess is an emulator running in a child process.
type emulatorProcess struct {
	url string
	in  io.Writer
	out *bufio.Reader
}

// startEmulatorProcess starts an emulator in a child process with the
// per-app, per-API limit qps, over any sliding second if sliding. It stops
// with the benchmark.
func startEmulatorProcess(tb testing.TB, qps int, sliding bool) *emulatorProcess {
	tb.Helper()
	spec := strconv.Itoa(qps)
	if sliding {
		spec += ",sliding"
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), emulatorChildEnv+"="+spec)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the benchmark
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	e := &emulatorProcess{in: in, out: bufio.NewReader(out)}
	line, err := e.out.ReadString('\n')
	if err != nil {
		tb.Fatalf("emulator process: %v", err)
	}
	e.url = strings.TrimSpace(line)
	return e
}

// setQPS changes the emulator's limit and waits until it is in force.
func (e *emulatorProcess) setQPS(tb testing.TB, n int) {
	tb.Helper()
	if _, err := fmt.Fprintf(e.in, "qps %d\n", n); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.out.ReadString('\n'); err != nil {
		tb.Fatal(err)
	}
}

// callStats counts the emulator's recorded calls to one path.
type callStats struct {
	answered, refused int // 2xx; 403 QpsLimit
	first, last       time.Time
}

// calls reads the emulator's record of the calls to path answered since.
func (e *emulatorProcess) calls(tb testing.TB, path string, since time.Time) callStats {
	tb.Helper()
	resp, err := http.Get(e.url + "/sim/v1/calls")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var calls []dingtalktest.Call
	if err := json.NewDecoder(resp.Body).Decode(&calls); err != nil {
		tb.Fatal(err)
	}
	var st callStats
	for _, c := range calls {
		if c.Path != path || c.Time.Before(since) {
			continue
		}
		switch {
		case c.Status == http.StatusForbidden:
			st.refused++
		case c.Status/100 == 2:
			st.answered++
		}
		if st.first.IsZero() {
			st.first = c.Time
		}
		st.last = c.Time
	}
	return st
}
