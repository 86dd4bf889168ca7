package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

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
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sim: %v", err)
	}
	if !strings.Contains(out.String(), "DingTalk emulator listening on http://"+addr) {
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
	for _, cmd := range []string{"run", "demo", "sim", "send", "recall", "audit", "entries", "resolve", "version"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("-h does not list %s:\n%s", cmd, out.String())
		}
	}
	for _, cmd := range []string{"run", "demo", "sim", "send", "recall", "audit", "entries", "resolve"} {
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
}
