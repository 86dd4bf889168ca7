package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestRecallLastIsCappedEverywhere: "/recall last N" in chat, POST
// /v1/recalls and `recallbot recall --last N` refuse the same N above
// recall.max_last, with a 400 that names the limit and the setting, and
// recall nothing; N at the limit is accepted.
func TestRecallLastIsCappedEverywhere(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Recall.MaxLast = 5 })
	for i := range 6 {
		if r, b := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"conversation_id":%q,"family":"private","text":"notice %d","client":"ci"}`, privCID, i)); r.StatusCode != http.StatusOK {
			t.Fatalf("send %d: %d %v", i, r.StatusCode, b)
		}
	}
	r, b := h.do("POST", "/v1/recalls", testToken, fmt.Sprintf(`{"conversation_id":%q,"last":6}`, privCID))
	msg := fmt.Sprint(b["error"])
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "recall.max_last") || !strings.Contains(msg, "more than 5") {
		t.Errorf("POST /v1/recalls last 6 over a max_last of 5: %d %v", r.StatusCode, b)
	}
	var out, errOut bytes.Buffer
	err := h.run([]string{"recall", "--chat", privCID, "--last", "6"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "recall.max_last") {
		t.Errorf("recallbot recall --last 6: %v\n%s", err, out.String())
	}
	if n := h.recalledCount(); n != 0 {
		t.Errorf("%d messages recalled by refused requests", n)
	}
	if r, b := h.do("POST", "/v1/recalls", testToken, fmt.Sprintf(`{"conversation_id":%q,"last":5,"dry_run":true}`, privCID)); r.StatusCode != http.StatusOK {
		t.Errorf("POST /v1/recalls last 5 (the limit): %d %v", r.StatusCode, b)
	}
}
