package recall

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Value is a value someone typed (a state, a duration, a batch id), shown
// inside a sentence the way the sentence's language quotes it: a Chinese
// sentence writes 「%s」 around it, an English one %q. Under %s it is the
// value with what a terminal would not show as text (control characters,
// invalid UTF-8) escaped as Go escapes them, so a typed value can never
// move the cursor or hide the rest of the line; under %q it is Go's quote.
// A precision (%.40s, %.40q) keeps its first runes only, as for a string.
type Value string

// Format writes v for the verbs s and q (fmt.Formatter).
func (v Value) Format(f fmt.State, verb rune) {
	s := string(v)
	if p, ok := f.Precision(); ok && p < len([]rune(s)) {
		s = string([]rune(s)[:p])
	}
	if verb != 's' {
		fmt.Fprintf(f, fmt.FormatString(f, verb), s)
		return
	}
	fmt.Fprint(f, printable(s))
}

// printable is s with every rune a terminal would not show as text
// escaped (\n, \x1b, \ufffd for a bad byte).
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) || r == ' ' {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// QuoteValue is v quoted the way locale quotes a typed value: 「」 in
// Chinese, Go's double quotes in English (QuoteName, with the escapes of
// Value).
func QuoteValue(v, locale string) string {
	if locale == "en" {
		return strconv.Quote(v)
	}
	return "「" + printable(v) + "」"
}
