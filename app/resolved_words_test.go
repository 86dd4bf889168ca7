package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/onelanguage"
)

// TestResolvedReasonSpeaksTheBotsLanguage: an entry an operator resolved
// keeps who did it as a fact, and its readers (the resolve's answer, the
// conversation's list) read it in the bot's language: "由 ops（API）
// 手动标记：…" under zh, not "resolved by api:ops" nor the code itself.
func TestResolvedReasonSpeaksTheBotsLanguage(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Locale = "zh" })
	h.srv.Fail(dingtalktest.PathPrivateSend, dingtalktest.FaultServerError, 1)
	r, body := h.do("POST", "/v1/messages", testToken, fmt.Sprintf(`{"family":"private","conversation_id":%q,"text":"in doubt"}`, privCID))
	if r.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("a 5xx on a send is unknown: %d %v", r.StatusCode, body)
	}
	id := uint64(body["entry"].(map[string]any)["id"].(float64))
	r, body = h.do("POST", fmt.Sprintf("/v1/entries/%d/resolve", id), testToken, `{"state":"unknown","note":"群里没有","client":"ops"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("resolve: %d %v", r.StatusCode, body)
	}
	if e, err := h.app.Ledger.Get(h.ctx(), id); err != nil || strings.HasPrefix(e.Reason, "resolved by") {
		t.Errorf("the ledger keeps words, not the fact: %q %v", e.Reason, err)
	}
	check := func(where string, v any) {
		t.Helper()
		s, _ := v.(string)
		if !strings.Contains(s, "由 ops（API）手动标记") || !strings.Contains(s, "群里没有") || strings.Contains(s, "钉钉") || onelanguage.EnglishRun(s) != "" {
			t.Errorf("%s says %q, want who resolved it and the note, in Chinese", where, s)
		}
	}
	check("the resolve's answer", body["explanation"])
	_, conv := h.do("GET", "/v1/conversations/"+privCID+"/messages", testToken, "")
	msgs, _ := conv["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("conversation: %v", conv)
	}
	check("the conversation's list", msgs[0].(map[string]any)["explanation"])
}
