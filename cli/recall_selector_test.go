package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRecallWithoutASelectorNamesTheFlags: `recallbot recall --chat ID`
// with nothing to choose the messages by is caught before the bot is
// asked, and the error names the CLI's flags in the user's language.
func TestRecallWithoutASelectorNamesTheFlags(t *testing.T) {
	addr := "http://" + freeAddr(t) // nothing listens: the command must not need the bot
	for _, c := range []struct{ lang, want string }{
		{"C", "say which messages to recall: --keys, --last, --since, --batch or --matching"},
		{"zh_CN.UTF-8", "请选择要撤回的消息：--keys、--last、--since、--batch 或 --matching"},
	} {
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", c.lang)
		t.Setenv("RECALLBOT_HTTP_TOKEN", "tok")
		err := Recall(context.Background(), []string{"-api", addr, "--chat", "cidOpsGroup=="}, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LANG=%s recall --chat cidOpsGroup== = %v, want %q", c.lang, err, c.want)
		}
		if _, ok := err.(UsageError); !ok {
			t.Errorf("LANG=%s recall --chat cidOpsGroup== = %T, want a usage error", c.lang, err)
		}
	}
}
