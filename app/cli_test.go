package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestOperatorCLI drives a running bot with the operator's commands, as a
// person at a shell would: send, recall with a preview, audit, entries,
// resolve; human output and -json.
func TestOperatorCLI(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := h.run(args, &out, &errOut); err != nil {
			t.Fatalf("recallbot %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	for i := range 3 {
		if out := cli("send", "--private", privCID, "--text", fmt.Sprintf("cli notice %d", i)); !strings.HasPrefix(out, "sent: entry ") {
			t.Fatalf("send: %q", out)
		}
	}
	if out := cli("recall", "--chat", privCID, "--last", "2", "--dry-run"); !strings.Contains(out, "preview (nothing recalled): 2 would be recalled") || !strings.Contains(out, "cli notice 2") ||
		!strings.Contains(out, " left") {
		t.Errorf("preview (each message with its time left): %q", out)
	}
	if out := cli("recall", "--private", privCID, "--matching", "notice 1"); !strings.Contains(out, "1 recalled") {
		t.Errorf("recall: %q", out)
	}
	if out := cli("audit", "--limit", "2"); !strings.Contains(out, "the CLI (API)") || strings.Contains(out, "api:cli") || !strings.Contains(out, "1 recalled") {
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
	if err := h.run([]string{"send", "--private", privCID, "--text", "in doubt"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "outcome_unknown") {
		t.Errorf("a send in doubt: %v", err)
	}
	pending := cli("entries", "pending")
	id := strings.Fields(strings.Split(pending, "\n")[1])[0]
	if out := cli("resolve", id, "--state", "send_failed", "--note", "not in the chat"); !strings.Contains(out, "is now send_failed") {
		t.Errorf("resolve: %q", out)
	}
	if err := h.run([]string{"send", "--text", "x"}, &out, &errOut); err == nil {
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
	if err := h.run([]string{"broadcast", "start", "--users-file", users, "--text", "all hands at 3", "--batch", "b-cli", "--wait"}, &out, &errOut); err != nil {
		t.Fatalf("broadcast start: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "broadcast b-cli: done; 45 of 45 (0 refused, 0 pending); 3 send calls") ||
		!strings.Contains(errOut.String(), "sending [") {
		t.Errorf("broadcast start: %q / %q", out.String(), errOut.String())
	}
	if out := cli("broadcast", "status", "b-cli"); !strings.Contains(out, "45 of 45 (0 refused") {
		t.Errorf("broadcast status: %q", out)
	}
	out.Reset()
	errOut.Reset()
	if err := h.run([]string{"recall", "--batch", "b-cli"}, &out, &errOut); err != nil {
		t.Fatalf("recall --batch: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "3 recalled · 45 people") || !strings.Contains(errOut.String(), "recalling [##############################] 3/3 messages") {
		t.Errorf("recall --batch: %q / %q", out.String(), errOut.String())
	}
	if err := h.run([]string{"broadcast", "stop", "b-cli"}, &out, &errOut); err == nil {
		t.Error("an unknown broadcast verb was accepted")
	}
}
