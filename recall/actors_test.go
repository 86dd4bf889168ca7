package recall

import "testing"

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
