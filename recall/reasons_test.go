package recall_test

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/internal/onelanguage"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestReasonWords: an entry's reason is put in the reader's words: a
// resolve's code (and the English sentence older entries carry), the
// bot's own fixed reasons, and DingTalk's codes, in Chinese with no
// English run and in English as they were.
func TestReasonWords(t *testing.T) {
	for _, c := range []struct{ reason, zh, en string }{
		{recall.ResolvedReason("api:ops", "群里没有"), "由 ops（API）手动标记：群里没有", "resolved by ops (API): 群里没有"},
		{recall.ResolvedReason("manager4220", ""), "由 manager4220 手动标记", "resolved by manager4220"},
		{`resolved by api:ops: not: here`, "由 ops（API）手动标记：not: here", "resolved by ops (API): not: here"},
		{"resolved by console", "由控制台手动标记", "resolved by the console"},
		{"past the recall window", "已超过撤回时限", "past the recall window"},
		{ledger.ReasonCancelled, "未发送：群发已取消", ledger.ReasonCancelled},
		{"no answer from DingTalk was ever recorded; closed after the recall window", "从未收到钉钉的应答；超过撤回时限后已关闭", "no answer from DingTalk was ever recorded; closed after the recall window"},
	} {
		if got := recall.ReasonWords(c.reason, "zh"); got != c.zh || onelanguage.EnglishRun(got) != "" && c.reason[0] != 'r' {
			t.Errorf("ReasonWords(%q, zh) = %q, want %q", c.reason, got, c.zh)
		}
		if got := recall.ReasonWords(c.reason, "en"); got != c.en {
			t.Errorf("ReasonWords(%q, en) = %q, want %q", c.reason, got, c.en)
		}
	}
	for _, code := range []string{"invalid.processQueryKey", "invalid", "filtered", "flow_controlled", "not_sent"} {
		zh, en := recall.ReasonWords(code, "zh"), recall.ReasonWords(code, "en")
		if onelanguage.EnglishRun(zh) != "" || zh == code || strings.Contains(zh, code) || en == "" || strings.ContainsAny(en, "钉此未") {
			t.Errorf("%s in words: zh %q, en %q", code, zh, en)
		}
	}
}
