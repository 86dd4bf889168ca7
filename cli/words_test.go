package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/internal/onelanguage"
)

// TestCLIWordsAreOneLanguage: no Chinese text of the commands holds a run
// of English words (flag names, codes and key names in backticks aside).
func TestCLIWordsAreOneLanguage(t *testing.T) {
	onelanguage.Catalogue(t, "texts", texts)
}

// TestCLIErrorsInTheUsersLanguage: before the bot has said its language,
// a command's own errors (no token, a bot it cannot reach, a command line
// it cannot use) are in the user's locale, and never in two languages.
func TestCLIErrorsInTheUsersLanguage(t *testing.T) {
	addr := "http://" + freeAddr(t)
	for _, c := range []struct {
		lang, token string
		args        []string
		want        string
		usage       bool
	}{
		{"zh_CN.UTF-8", "", []string{"--group", "cidG"}, "请把 RECALLBOT_HTTP_TOKEN 设为", false},
		{"en_US.UTF-8", "", []string{"--group", "cidG"}, "set RECALLBOT_HTTP_TOKEN", false},
		{"zh_CN.UTF-8", "tok", []string{"--group", "cidG", "--text", "hi"}, "无法连接机器人的 HTTP API", false},
		{"C.UTF-8", "tok", []string{"--group", "cidG", "--text", "hi"}, "cannot reach the bot's HTTP API", false},
		{"zh_CN.UTF-8", "tok", []string{"--text", "hi"}, "请只给出 --group、--private、--user 中的一个", true},
	} {
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", c.lang)
		t.Setenv("RECALLBOT_HTTP_TOKEN", c.token)
		var stderr bytes.Buffer
		err := Send(context.Background(), append([]string{"-api", addr}, c.args...), &bytes.Buffer{}, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LANG=%s send %v = %v, want an error with %q", c.lang, c.args, err, c.want)
			continue
		}
		if _, ok := err.(UsageError); ok != c.usage {
			t.Errorf("LANG=%s send %v = %T, want a usage error: %v", c.lang, c.args, err, c.usage)
		}
		if strings.HasPrefix(c.lang, "zh") {
			if run := onelanguage.EnglishRun(err.Error()); run != "" {
				t.Errorf("LANG=%s: the error holds English %q: %v", c.lang, run, err)
			}
		}
	}
}

// TestChineseCLIWordsQuoteOneWay: the commands' Chinese quotes a typed
// value or a name with 「」, never with %q's ASCII quotes or “”.
func TestChineseCLIWordsQuoteOneWay(t *testing.T) {
	for key, w := range texts {
		if q := onelanguage.ForeignQuote(w[0]); q != "" {
			t.Errorf("texts[%q] in Chinese quotes with %s: %s", key, q, w[0])
		}
	}
}
