package handlers

import (
	"strings"
	"testing"
)

// TestEchoesDropInvisibleMarks: zero-width and direction marks a user
// typed never come back in a reply, and do not hide a secret from the
// redactor on the way.
func TestEchoesDropInvisibleMarks(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/recall\u200b last 5", "/recall last 5"},
		{"abc\u202edcba", "abcdcba"},                         // right-to-left override
		{"\u2066user\u2069 \u200e\u200f\u061c", "user "},     // isolates and marks
		{"\ufeffkey\u200c\u200d\u2060", "key"},               // BOM, joiners, word joiner
		{"a\u202a\u202b\u202c\u202db", "ab"},                 // embeddings and overrides
		{"中文 emoji 👍 and ümlauts", "中文 emoji 👍 and ümlauts"}, // visible text is kept
	} {
		if got := md(tc.in); got != tc.want {
			t.Errorf("md(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
	const secret = "sk-0123456789abcdef"
	b := &Bot{cfg: Config{Redact: func(s string) string { return strings.ReplaceAll(s, secret, "[redacted]") }}}
	if got := b.quote("/recall sk-01234\u200b56789abcdef"); strings.Contains(got, "0123456789") || !strings.Contains(got, "［redacted］") {
		t.Errorf("quote of a secret split by a zero-width space = %q", got)
	}
}

// fullWidth is the punctuation of Chinese text that the bot's English
// text must not carry.
const fullWidth = "（）［］【】「」：；，。！？、＜＞"

// TestRepliesReadLikeAPerson: every reply and receipt template of the bot,
// filled in, has ASCII punctuation in English, no line ending in a space
// in either language, no stray space before 内 in Chinese, and plurals
// that agree with their number.
func TestRepliesReadLikeAPerson(t *testing.T) {
	all := map[string][2]string{}
	for k, v := range texts {
		all[k] = v
	}
	for k, v := range alertTexts {
		all[k] = v
	}
	for key, t2 := range all {
		for i, loc := range []string{"zh", "en"} {
			s := t2[i]
			if strings.Contains(s, "%") { // filled as the bot fills it
				s = say(loc, key, fillers(s)...)
			}
			if loc == "en" && t2[1] == "" {
				continue // English words made elsewhere (calls)
			}
			if j := strings.IndexAny(s, fullWidth); loc == "en" && j >= 0 {
				t.Errorf("%s (en) has full-width punctuation at %q", key, s[j:])
			}
			for _, l := range strings.Split(s, "\n") {
				if strings.TrimRight(l, " ") != l {
					t.Errorf("%s (%s): a line ends with a space: %q", key, loc, l)
				}
			}
			if strings.Contains(s, " 内") {
				t.Errorf("%s (%s): a stray space before 内: %q", key, loc, s)
			}
		}
	}
	for _, tc := range []struct{ got, want string }{
		{say("zh", "help.admin", "2 分钟"), "（2 分钟内有效）"},
		{say("en", "preview", "1 would be recalled", calls("en", "api", 1)), "1 API call"},
		{say("en", "preview", "2 would be recalled", calls("en", "api", 2)), "2 API calls"},
		{say("en", "reads.hint", calls("en", "query", 1), "1 second"), "(1 query call, about 1 second)"},
		{say("zh", "preview", "2 条将被撤回", calls("zh", "api", 2)), "需 2 次接口调用"},
		{say("en", "audit.head", 1), "The last 1 recall attempt**"},
		{say("en", "audit.head", 2), "The last 2 recall attempts**"},
		{say("en", "sent.head", 1), "The bot's last 1 message in this chat"},
	} {
		if !strings.Contains(tc.got, tc.want) || strings.Contains(tc.got, "(s)") {
			t.Errorf("%q does not say %q", tc.got, tc.want)
		}
	}
}

// fillers are arguments for a template's verbs: a number for %d, a word
// for the others.
func fillers(s string) []any {
	var out []any
	for i := 0; i < len(s)-1; i++ {
		if s[i] != '%' {
			continue
		}
		j := i + 1
		if s[j] == '[' { // %[1]s
			for j < len(s) && s[j] != ']' {
				j++
			}
			j++
		}
		if j >= len(s) {
			break
		}
		switch s[j] {
		case 'd':
			out = append(out, 2)
		case '%':
		default:
			out = append(out, "x")
		}
		i = j
	}
	return out
}
