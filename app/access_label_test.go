package app_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestAccessTrailSaysRefusedOnce: `recallbot audit --access` says a
// refusal once, in the action column ("已拒绝：…" for an action that is not
// itself the refusal), and its result gives why, never the label again.
func TestAccessTrailSaysRefusedOnce(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Locale = "zh" })
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: stranger, Text: "/recall last 1"}); err != nil {
		t.Fatal(err)
	}
	var out string
	line := func() string {
		var stdout, stderr bytes.Buffer
		if err := h.run([]string{"audit", "--access"}, &stdout, &stderr); err != nil {
			t.Fatalf("audit --access: %v\n%s", err, stderr.String())
		}
		out = stdout.String()
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "/recall last 1") {
				return l
			}
		}
		return ""
	}
	if err := waitFor(h.ctx(), func() bool { return line() != "" }); err != nil {
		t.Fatalf("the refusal never reached the access trail: %v\n%s", err, out)
	}
	if l := line(); strings.Count(l, "拒绝") != 1 || !strings.Contains(l, "不是管理员") {
		t.Errorf("the refusal reads %q, want 拒绝 once and why", l)
	}
}
