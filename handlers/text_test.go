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
