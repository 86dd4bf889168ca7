package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
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

func TestSubcommandsAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "recallbot ") {
		t.Errorf("version: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "Usage:") {
		t.Errorf("unknown command: %v", err)
	}
	// A bare recallbot, or -h, lists every subcommand.
	errOut.Reset()
	var ue usageErr
	if err := run(context.Background(), nil, &out, &errOut); !errors.As(err, &ue) || !strings.Contains(errOut.String(), "resolve") {
		t.Errorf("bare recallbot: %v %q", err, errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"-h"}, &out, &errOut); err != nil {
		t.Errorf("-h: %v", err)
	}
	for _, cmd := range []string{"run", "demo", "sim", "send", "broadcast", "recall", "audit", "entries", "resolve", "healthcheck", "version"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("-h does not list %s:\n%s", cmd, out.String())
		}
	}
	for _, cmd := range []string{"run", "demo", "sim", "send", "broadcast", "recall", "audit", "entries", "resolve", "healthcheck"} {
		errOut.Reset()
		if err := run(context.Background(), []string{cmd, "-h"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "Usage: recallbot "+cmd) {
			t.Errorf("%s -h: %v %q", cmd, err, errOut.String())
		}
	}
	// A bare "recallbot -config FILE" is "run": a missing file is its error.
	if err := run(context.Background(), []string{"-config", "/nonexistent.yaml"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "/nonexistent.yaml") {
		t.Errorf("bare -config: %v", err)
	}
}

// TestOperatorCLI drives a running bot with the operator's commands, as a
// person at a shell would: send, recall with a preview, audit, entries,
// resolve; human output and -json.
func TestOperatorCLI(t *testing.T) {
	h := start(t, dingtalktest.Options{})
	t.Setenv("RECALLBOT_HTTP_TOKEN", testToken)
	t.Setenv("RECALLBOT_API", "http://"+h.app.HTTPAddr())
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(h.ctx(), args, &out, &errOut); err != nil {
			t.Fatalf("recallbot %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	for i := range 3 {
		if out := cli("send", "--private", privCID, "--text", fmt.Sprintf("cli notice %d", i)); !strings.HasPrefix(out, "sent: entry ") {
			t.Fatalf("send: %q", out)
		}
	}
	if out := cli("recall", "--chat", privCID, "--last", "2", "--dry-run"); !strings.Contains(out, "preview (nothing recalled): 2 requested: 2 would be recalled") || !strings.Contains(out, "cli notice 2") {
		t.Errorf("preview: %q", out)
	}
	if out := cli("recall", "--private", privCID, "--matching", "notice 1"); !strings.Contains(out, "1 requested: 1 recalled") {
		t.Errorf("recall: %q", out)
	}
	if out := cli("audit", "--limit", "2"); !strings.Contains(out, "api:cli") || !strings.Contains(out, "1 recalled") {
		t.Errorf("audit: %q", out)
	}
	var a struct{ Records []ledger.AuditRecord }
	if err := json.Unmarshal([]byte(cli("audit", "-json")), &a); err != nil || len(a.Records) != 2 {
		t.Errorf("audit -json: %+v %v", a, err)
	}
	if out := cli("entries"); !strings.Contains(out, "no pending entries") {
		t.Errorf("entries: %q", out)
	}
	h.srv.Fail(dingtalktest.PathPrivateSend, dingtalktest.FaultServerError, 1)
	var out, errOut bytes.Buffer
	if err := run(h.ctx(), []string{"send", "--private", privCID, "--text", "in doubt"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "outcome_unknown") {
		t.Errorf("a send in doubt: %v", err)
	}
	pending := cli("entries", "pending")
	id := strings.Fields(strings.Split(pending, "\n")[1])[0]
	if out := cli("resolve", id, "--state", "send_failed", "--note", "not in the chat"); !strings.Contains(out, "is now send_failed") {
		t.Errorf("resolve: %q", out)
	}
	if err := run(h.ctx(), []string{"send", "--text", "x"}, &out, &errOut); err == nil {
		t.Error("send without a chat was accepted")
	}

	// A broadcast to 45 users from a file, followed to its end, then its
	// batch recalled with a progress line (not a terminal: one line per
	// change) and the receipt.
	users := filepath.Join(t.TempDir(), "users.txt")
	var list strings.Builder
	for i := range 45 {
		fmt.Fprintf(&list, "staff%02d\n", i)
	}
	if err := os.WriteFile(users, []byte("# all hands\n"+list.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if err := run(h.ctx(), []string{"broadcast", "start", "--users-file", users, "--text", "all hands at 3", "--batch", "b-cli", "--wait"}, &out, &errOut); err != nil {
		t.Fatalf("broadcast start: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "broadcast b-cli: done; 45 recipients: 45 sent, 0 failed, 0 pending; 3 send call(s)") ||
		!strings.Contains(errOut.String(), "sending [") {
		t.Errorf("broadcast start: %q / %q", out.String(), errOut.String())
	}
	if out := cli("broadcast", "status", "b-cli"); !strings.Contains(out, "45 sent") {
		t.Errorf("broadcast status: %q", out)
	}
	out.Reset()
	errOut.Reset()
	if err := run(h.ctx(), []string{"recall", "--batch", "b-cli"}, &out, &errOut); err != nil {
		t.Fatalf("recall --batch: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "3 requested: 3 recalled · 45 people") || !strings.Contains(errOut.String(), "recalling [##############################] 3/3 messages") {
		t.Errorf("recall --batch: %q / %q", out.String(), errOut.String())
	}
	if err := run(h.ctx(), []string{"broadcast", "stop", "b-cli"}, &out, &errOut); err == nil {
		t.Error("an unknown broadcast verb was accepted")
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
