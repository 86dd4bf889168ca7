package recall

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/ledger"
)

// TestActorsInWords: the actors people see read as words in their
// language, never as the codes the records keep.
func TestActorsInWords(t *testing.T) {
	for _, c := range []struct{ actor, zh, en string }{
		{"api:cli", "命令行（API）", "the CLI (API)"},
		{"api:张测试", "张测试（API）", "张测试 (API)"},
		{"http:127.0.0.1", "HTTP 127.0.0.1", "HTTP 127.0.0.1"},
		{"rule:secrets", "规则 secrets", "rule secrets"},
		{"system", "机器人自身", "the bot itself"},
		{"api", "HTTP 接口", "the HTTP API"},
		{"manager4220", "manager4220", "manager4220"},
	} {
		if got := ActorWords(c.actor, "zh"); got != c.zh {
			t.Errorf("%s in zh: %q, want %q", c.actor, got, c.zh)
		}
		if got := ActorWords(c.actor, "en"); got != c.en {
			t.Errorf("%s in en: %q, want %q", c.actor, got, c.en)
		}
	}
}

// TestActorsReachPeopleInWords: every actor a person reads is in words,
// not the code the records keep: the summaries of refused chat commands
// and HTTP requests ("chat", "http"), a blocked send's sender and the
// person who resolved an entry by hand.
func TestActorsReachPeopleInWords(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{ActorWords("chat", "zh"), "聊天命令"},
		{ActorWords("chat", "en"), "chat commands"},
		{ActorWords("http", "zh"), "HTTP 请求"},
		{ActorWords("http", "en"), "HTTP requests"},
		{ReasonWords(ResolvedReason("api:cli", ""), "zh"), "由命令行（API）手动标记"},
		{ReasonWords(ResolvedReason("api:ops", "群里没有"), "zh"), "由 ops（API）手动标记：群里没有"},
		{ReasonWords(ResolvedReason("api:cli", "gone"), "en"), "resolved by the CLI (API): gone"},
		{ReasonWords(ResolvedReason("console", ""), "en"), "resolved by the console"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
	blocked := ledger.AuditRecord{Action: "send.blocked", About: &ledger.AuditAbout{Sender: "api:cli"}}
	for locale, want := range map[string]string{"zh": "发送者：命令行（API）", "en": "sent by the CLI (API)"} {
		if _, note := AuditWords(blocked, locale, nil); !strings.Contains(note, want) || strings.Contains(note, "api:cli") {
			t.Errorf("%s: a blocked send reads %q, want it to hold %q", locale, note, want)
		}
	}
}

// TestRefusalNoteDoesNotRepeatItsAction: a refused command's note says why
// and what became of it, not its action's words again ("超过命令限额" in
// the action column and the result both).
func TestRefusalNoteDoesNotRepeatItsAction(t *testing.T) {
	for _, why := range []string{"over_budget", "over_crowd_budget"} {
		r := ledger.AuditRecord{Action: "command.over_budget", Why: why}
		for _, locale := range []string{"zh", "en"} {
			if _, note := AuditWords(r, locale, nil); strings.Contains(note, ActionWords(r.Action, locale)) {
				t.Errorf("%s (%s): the note %q repeats the action %q", why, locale, note, ActionWords(r.Action, locale))
			}
		}
	}
}
