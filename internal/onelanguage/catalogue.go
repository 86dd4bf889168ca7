package onelanguage

import (
	"strings"
	"testing"
)

// Catalogue fails t for any entry of words (a package's catalogue of
// sentences, {Chinese, English} by key, named name in the failures)
// that misses a language, holds a backtick (which a terminal shows as it
// is), or holds a run of English words in its Chinese.
func Catalogue(t testing.TB, name string, words map[string][2]string) {
	t.Helper()
	for key, w := range words {
		if w[0] == "" || w[1] == "" {
			t.Errorf("%s[%q] = %q: a language is missing", name, key, w)
		}
		if strings.Contains(w[0]+w[1], "`") {
			t.Errorf("%s[%q] holds a backtick, which a terminal shows as it is: %q", name, key, w)
		}
		if run := EnglishRun(w[0]); run != "" {
			t.Errorf("%s[%q] in Chinese holds English %q: %s", name, key, run, w[0])
		}
	}
}
