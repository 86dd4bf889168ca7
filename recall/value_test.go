package recall

import (
	"fmt"
	"testing"
)

// TestValueQuotesPerLanguage: a typed value stands in 「」 in a Chinese
// sentence and in "" in an English one, with what a terminal would not
// show escaped either way, and a precision keeps its first runes.
func TestValueQuotesPerLanguage(t *testing.T) {
	for _, c := range []struct {
		format string
		v      Value
		want   string
	}{
		{"「%s」不是记录状态", "bogus", "「bogus」不是记录状态"},
		{"%q is not a state", "bogus", `"bogus" is not a state`},
		{"「%s」", "a\x1b[2Jb\n", `「a\x1b[2Jb\n」`},
		{"「%.3s」", "群发批次", "「群发批」"},
		{"%.3q", "abcdef", `"abc"`},
	} {
		if got := fmt.Sprintf(c.format, c.v); got != c.want {
			t.Errorf("Sprintf(%q, %q) = %q, want %q", c.format, string(c.v), got, c.want)
		}
	}
	if got := QuoteValue("abc", "zh"); got != "「abc」" {
		t.Errorf("QuoteValue(abc, zh) = %q", got)
	}
	if got := QuoteValue("abc", "en"); got != `"abc"` {
		t.Errorf("QuoteValue(abc, en) = %q", got)
	}
}
