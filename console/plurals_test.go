package console

import (
	"regexp"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/internal/onelanguage"
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

// TestConsolePageHasNoEnglishUnderZh: a Chinese console's page, its
// status bar and tooltips included, holds no run of English words
// outside the ids and names it shows.
func TestConsolePageHasNoEnglishUnderZh(t *testing.T) {
	f := newFixture(t, "zh")
	b := f.browser()
	b.login("ops")
	page := b.get("/ui/messages").body
	if !strings.Contains(page, `id="version"`) {
		t.Fatalf("the status bar shows no version: %s", page)
	}
	text := regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>`).ReplaceAllString(page, " ")
	attrs := regexp.MustCompile(`(?:title|placeholder|aria-label|alt)="([^"]*)"`).FindAllStringSubmatch(text, -1)
	text = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(text, " ")
	words := regexp.MustCompile(`^[A-Za-z]+(?: [A-Za-z]+)+$`) // a tooltip of English words alone
	for _, a := range attrs {
		if words.MatchString(a[1]) {
			t.Errorf("the Chinese console's tooltip or placeholder says %q", a[1])
		}
		text += " · " + a[1]
	}
	for _, line := range strings.Split(text, "\n") {
		if run := onelanguage.EnglishRun(line); run != "" {
			t.Errorf("the Chinese console says %q in %q", run, strings.TrimSpace(line))
		}
	}
}
