package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/recallbot/recallbot/recall"
)

// Go's flag package reports a command line it cannot read in English
// ("flag provided but not defined: -x"). Its forms are few and fixed, so
// parseFlags reads them back (the flag's name, the value given) and says
// them in the user's language, with what the flag wants when its type
// says (a duration, a number). The -h usage text stays English, as the
// logs do (docs/commands.md says so).

// parseFlags parses args into fs. A command line fs cannot read is
// reported once, in lang ("zh" or "en"), above the usage, as a
// UsageError; -h prints the usage and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, lang string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // the flag package prints its English: ours replaces it
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	}
	return usageError(fs, flagWords(fs, err, lang, args)) // the error first, then where help is
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: (-+.+)$`)
	flagNoValue   = regexp.MustCompile(`^flag needs an argument: (-+.+)$`)
	flagBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?(-+[^:]+): (.*)$`)
	boolFlagBad   = regexp.MustCompile(`^invalid boolean flag (.+): (.*)$`)
	flagBadSyntax = regexp.MustCompile(`^bad flag syntax: (.*)$`)
)

// flagWords is a flag package error in lang: the same facts in a sentence,
// with what a flag of that type wants, and the flag as the user typed it
// (--lats, not -lats).
func flagWords(fs *flag.FlagSet, err error, lang string, args []string) string {
	zh := lang == "zh"
	s := typedDashes(err.Error(), args)
	if m := undefinedFlag.FindStringSubmatch(s); m != nil {
		if zh {
			return fmt.Sprintf("没有 %s 这个参数", m[1])
		}
		return fmt.Sprintf("no such flag: %s", m[1])
	}
	if m := flagNoValue.FindStringSubmatch(s); m != nil {
		if zh {
			return fmt.Sprintf("参数 %s 需要一个值", m[1])
		}
		return fmt.Sprintf("flag %s needs a value", m[1])
	}
	if m := flagBadValue.FindStringSubmatch(s); m != nil {
		value, name := m[1], m[2]
		if v, err := strconv.Unquote(value); err == nil && zh {
			value = recall.QuoteValue(v, "zh") // a typed value stands in 「」 in Chinese
		}
		want := wants(fs.Lookup(strings.TrimLeft(name, "-")), lang)
		switch {
		case zh && want != "":
			return fmt.Sprintf("参数 %s 的值%s无效：%s", name, value, want)
		case zh:
			return fmt.Sprintf("参数 %s 的值%s无效", name, value)
		case want != "":
			return fmt.Sprintf("invalid value %s for flag %s: %s", value, name, want)
		}
		return s
	}
	if m := boolFlagBad.FindStringSubmatch(s); m != nil && zh {
		return fmt.Sprintf("开关参数 %s 无效", m[1])
	}
	if m := flagBadSyntax.FindStringSubmatch(s); m != nil && zh {
		return fmt.Sprintf("参数写法有误：%s（参数以 - 或 -- 开头，如 -api 或 --api=地址）", m[1])
	}
	return s
}

// wants says what a flag of f's type takes, or "" when its type says
// nothing a person needs.
func wants(f *flag.Flag, lang string) string {
	if f == nil {
		return ""
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return ""
	}
	zh := lang == "zh"
	switch g.Get().(type) {
	case time.Duration:
		if zh {
			return "应为时长，如 30s、5m、1h"
		}
		return "want a duration such as 30s, 5m or 1h"
	case int, int64, uint, uint64:
		if zh {
			return "应为整数"
		}
		return "want a whole number"
	case float64:
		if zh {
			return "应为数字"
		}
		return "want a number"
	case bool:
		if zh {
			return "应为 true 或 false"
		}
		return "want true or false"
	}
	return ""
}

// flagInError is the flag a flag package error names, always with one dash.
var flagInError = regexp.MustCompile(`(^|[ :])-([^\s:=]+)`)

// typedDashes is the flag package's error s with the flag it names
// written with the dashes the user typed: the package accepts -x and
// --x alike but names it -x, and a user who typed --lats looks for
// --lats. Arguments after "--" are not flags.
func typedDashes(s string, args []string) string {
	typed := map[string]string{}
	for _, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name := strings.TrimLeft(a, "-")
		if i := strings.IndexByte(name, '='); i >= 0 {
			name = name[:i]
		}
		if _, seen := typed[name]; !seen {
			typed[name] = a[:len(a)-len(strings.TrimLeft(a, "-"))]
		}
	}
	return flagInError.ReplaceAllStringFunc(s, func(m string) string {
		sub := flagInError.FindStringSubmatch(m)
		if d, ok := typed[sub[2]]; ok {
			return sub[1] + d + sub[2]
		}
		return m
	})
}
