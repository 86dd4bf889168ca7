package console

import (
	"regexp"
	"strings"
	"testing"
)

// TestConsoleCountsAgreeInEnglish: every English text of the console,
// each number filled with 1 and then with 2, reads "1 person", "2
// people", "1 message", "2 messages": no "reaching 1 people". The few
// texts whose number is never 1 (more than a limit, several recipients of
// one packed key) are named.
func TestConsoleCountsAgreeInEnglish(t *testing.T) {
	neverOne := map[string]bool{"confirm.many": true, "confirm.chats": true, "preview.packed": true, "confirm.packed": true, "messages.cut": true}
	one := regexp.MustCompile(`\b1 (?:other )?(?:people|persons|recipients|messages|calls|chats|groups|entries)\b`)
	many := regexp.MustCompile(`\b2 (?:other )?(?:persons|person|recipient|message|call|chat|group|entry)\b`)
	for key, w := range texts {
		s := w[1]
		if !strings.Contains(s, "%d") || neverOne[key] {
			continue
		}
		for _, n := range []int{1, 2} {
			var args []any
			for _, verb := range strings.SplitAfter(s, "%")[1:] {
				switch {
				case strings.HasPrefix(verb, "d"):
					args = append(args, n)
				case strings.HasPrefix(verb, "s"):
					args = append(args, "x")
				}
			}
			got := say("en", key, args...)
			if m := one.FindString(got); n == 1 && m != "" {
				t.Errorf("%s with 1: %q says %q", key, got, m)
			}
			if m := many.FindString(got); n == 2 && m != "" {
				t.Errorf("%s with 2: %q says %q", key, got, m)
			}
		}
	}
}
