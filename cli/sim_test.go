package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

func TestSimServesTheControlAPI(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sim", "-listen", addr, "-client-id", "dingsimapp"}, &out, io.Discard)
	}()
	if err := waitFor(ctx, func() bool { return strings.Contains(out.String(), "client_id: dingsimapp") }); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/sim/v1/conversations", "application/json", strings.NewReader(`{"conversationId":"cidX","kind":"group"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("control API: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, _ = http.Post("http://"+addr+"/sim/v1/conversations", "application/json", strings.NewReader(`{"conversationId":"cidX","kind":"fax"}`))
	if resp.StatusCode != 400 {
		t.Errorf("bad kind: %d", resp.StatusCode)
	}
	resp.Body.Close()
	if resp, err = http.Get("http://" + addr + "/ui/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("console: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sim: %v", err)
	}
	if !strings.Contains(out.String(), "DingTalk emulator listening on http://"+addr) ||
		!strings.Contains(out.String(), "console (chats, OpenAPI calls, Stream frames, faults): http://"+addr+"/ui/\n") {
		t.Errorf("sim printed:\n%s", out.String())
	}
}

// TestSimCountsASlidingSecond: `recallbot sim` limits calls over any
// sliding second by default, as the benchmarks' emulator does. Counting
// calendar seconds (what it did before) lets twice the limit through in a
// moment across a second's boundary: calls made back to back for longer
// than a second always cross one, so the busiest second it answered held
// 2 x 3 calls. The round trip flags are applied too: every call takes
// effect at least half of -latency (less -jitter) after it was sent.
func TestSimCountsASlidingSecond(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sim", "-listen", addr, "-qps", "3", "-latency", "40ms", "-jitter", "10ms"}, &out, io.Discard)
	}()
	if err := waitFor(ctx, func() bool { return strings.Contains(out.String(), "Ctrl-C stops") }); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	resp, err := http.Post(base+dingtalktest.PathAccessToken, "application/json", strings.NewReader(`{"appKey":"dingemulatorapp","appSecret":"emulator-secret"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ AccessToken string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	resp.Body.Close()
	var sent []time.Time
	for start := time.Now(); time.Since(start) < 1200*time.Millisecond; {
		req, _ := http.NewRequest(http.MethodPost, base+dingtalktest.PathOTORecall, strings.NewReader(`{"robotCode":"dingemulatorbot","processQueryKeys":["abc"]}`))
		req.Header.Set("x-acs-dingtalk-access-token", tok.AccessToken)
		sent = append(sent, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err = http.Get(base + "/sim/v1/calls")
	if err != nil {
		t.Fatal(err)
	}
	var calls []dingtalktest.Call
	if err := json.NewDecoder(resp.Body).Decode(&calls); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var answered []time.Time
	for _, c := range calls {
		if c.Path == dingtalktest.PathOTORecall && c.Status != http.StatusForbidden {
			answered = append(answered, c.Time)
		}
	}
	busiest := 0
	for i, j := 0, 0; j < len(answered); j++ {
		for answered[j].Sub(answered[i]) >= time.Second {
			i++
		}
		busiest = max(busiest, j-i+1)
	}
	if busiest == 0 || busiest > 3 {
		t.Errorf("the busiest second held %d answered calls, want 1 to 3 (the limit)", busiest)
	}
	if first := calls[1].Time.Sub(sent[0]); first < 10*time.Millisecond {
		t.Errorf("the first call took effect %s after it was sent, want at least 10ms (-latency 40ms, -jitter 10ms)", first)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sim: %v", err)
	}
}

// TestSimNamesTheFlagsOfATakenPort: an emulator address in use (a sim
// already running) is named with the flags that move it: -listen, and
// -bot-http for the bot's.
func TestSimNamesTheFlagsOfATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out, errOut bytes.Buffer
	err = Sim(t.Context(), []string{"-listen", l.Addr().String()}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()+" is in use") || !strings.Contains(err.Error(), "-listen") || !strings.Contains(err.Error(), "-bot-http") {
		t.Errorf("sim on a taken port: %v", err)
	}
}

// TestSimStepsNameTheBinaryAsRun: the steps sim prints run recallbot as
// it was run, ./recallbot from the current directory.
func TestSimStepsNameTheBinaryAsRun(t *testing.T) {
	for arg0, want := range map[string]string{"./recallbot": "./recallbot", "/usr/local/bin/recallbot": "/usr/local/bin/recallbot",
		"recallbot": "recallbot", "/tmp/go-build1/cli.test": "recallbot"} {
		if got := invokedAs(arg0); got != want {
			t.Errorf("invokedAs(%q) = %q, want %q", arg0, got, want)
		}
	}
}
