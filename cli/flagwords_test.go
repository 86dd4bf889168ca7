package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/internal/onelanguage"
)

// TestFlagErrorsInTheUsersLanguage: a command line the flag package
// cannot read (an unknown flag, a flag without its value, a value of the
// wrong type) is said once, in the user's locale, with the flag's name,
// the value given and what the flag wants, then where help is; the flag
// package's English never shows. -h still prints the usage.
func TestFlagErrorsInTheUsersLanguage(t *testing.T) {
	type command func(context.Context, []string, io.Writer, io.Writer) error
	for _, c := range []struct {
		lang string
		run  command
		args []string
		want string
	}{
		{"zh_CN.UTF-8", Send, []string{"-nope"}, "没有 -nope 这个参数"},
		{"en_US.UTF-8", Send, []string{"-nope"}, "no such flag: -nope"},
		{"zh_CN.UTF-8", Send, []string{"--text"}, "参数 --text 需要一个值"},
		{"zh_CN.UTF-8", Sim, []string{"-latency", "fast"}, `参数 -latency 的值「fast」无效：应为时长，如 30s、5m、1h`},
		{"en_US.UTF-8", Sim, []string{"-latency", "fast"}, `invalid value "fast" for flag -latency: want a duration such as 30s, 5m or 1h`},
		{"zh_CN.UTF-8", Sim, []string{"-qps", "many"}, `参数 -qps 的值「many」无效：应为整数`},
		{"zh_CN.UTF-8", Sim, []string{"-steady-way-back=maybe"}, `参数 -steady-way-back 的值「maybe」无效：应为 true 或 false`},
		{"zh_CN.UTF-8", Sim, []string{"-window", "fixed"}, `-window 的值「fixed」无效：应为 sliding 或 calendar`},
		{"en_US.UTF-8", Sim, []string{"-latency", "-1s"}, "-latency and -jitter cannot be negative"},
		{"zh_CN.UTF-8", Demo, []string{"-x"}, "没有 -x 这个参数"},
		{"zh_CN.UTF-8", Send, []string{"--group", "cidG", "--lats", "3"}, "没有 --lats 这个参数"},
		{"en_US.UTF-8", Send, []string{"--nope=1"}, "no such flag: --nope"},
		{"zh_CN.UTF-8", Sim, []string{"--qps", "many"}, `参数 --qps 的值「many」无效：应为整数`},
		{"zh_CN.UTF-8", Demo, []string{"-locale", "fr"}, `-locale 的值「fr」无效：应为 zh 或 en`},
	} {
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", c.lang)
		var stderr bytes.Buffer
		err := c.run(context.Background(), c.args, &bytes.Buffer{}, &stderr)
		if _, ok := err.(UsageError); !ok || err.Error() != c.want {
			t.Errorf("LANG=%s %v = %v, want the usage error %q", c.lang, c.args, err, c.want)
			continue
		}
		if first, _, _ := strings.Cut(stderr.String(), "\n"); first != "recallbot: "+c.want || strings.Count(stderr.String(), c.want) != 1 ||
			!strings.Contains(stderr.String(), " -h") || strings.Contains(stderr.String(), "Usage: recallbot ") {
			t.Errorf("LANG=%s %v printed %q, want the error once, then where help is", c.lang, c.args, stderr.String())
		}
		if strings.Contains(stderr.String(), "flag provided") || strings.Contains(stderr.String(), "parse error") {
			t.Errorf("LANG=%s %v printed the flag package's English: %q", c.lang, c.args, stderr.String())
		}
		if run := onelanguage.EnglishRun(err.Error()); strings.HasPrefix(c.lang, "zh") && run != "" {
			t.Errorf("LANG=%s: %q holds English %q", c.lang, err, run)
		}
	}
	var stderr bytes.Buffer
	if err := Send(context.Background(), []string{"-h"}, &bytes.Buffer{}, &stderr); !errors.Is(err, flag.ErrHelp) ||
		strings.Count(stderr.String(), "Usage: recallbot send") != 1 || !strings.Contains(stderr.String(), "-api") {
		t.Errorf("send -h = %v, printed %q", err, stderr.String())
	}
}
