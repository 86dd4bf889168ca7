// Package onelanguage is what tests use to hold Chinese text to Chinese:
// EnglishRun finds a run of English words in a sentence meant for a
// Chinese reader (an API refusal, a CLI error), which is how a sentence
// half translated, or an English one passed through, shows.
package onelanguage

import (
	"regexp"
	"strings"
)

// minRun is how many English words in a row make a run: a code, a key or
// a name ("user id", "JSON Web Token") has fewer.
const minRun = 3

// EnglishRun returns the first run of minRun or more English words in s,
// or "" when there is none. What a Chinese sentence keeps in English is
// left out first: spans in backticks or 「」 (key names, a command), URLs and
// paths, format verbs (%s, %[2]q), and words holding a digit, "_", "." or
// "-" (codes, ids, flag names).
func EnglishRun(s string) string {
	s = kept.ReplaceAllString(s, " · ")
	run := []string{}
	for _, f := range strings.Fields(cjk.ReplaceAllString(s, " · ")) {
		if word.MatchString(f) {
			run = append(run, f)
			if len(run) >= minRun {
				return strings.Join(run, " ")
			}
			continue
		}
		run = run[:0]
	}
	return ""
}

// cjk is text that is not ASCII: it ends a run.
var cjk = regexp.MustCompile(`[^\x00-\x7f]+`)

// kept is what a Chinese sentence may keep in English.
var kept = regexp.MustCompile("`[^`]*`" + `|「[^」]*」|https?://\S+|/\S*|%(\[\d+\])?[-+# 0-9.]*[a-zA-Z]|\S*[0-9_.\-=]\S*|[{<]\S*`)

// word is an English word between spaces or Chinese text, with the
// punctuation that may cling to it.
var word = regexp.MustCompile(`^\(?[A-Za-z][A-Za-z']*[,;:)]*$`)

// foreignQuote is a quote a Chinese sentence does not use for a name or a
// typed value: Go's %q (ASCII quotes around the value), ASCII double
// quotes, and “” (one column or two, by terminal).
var foreignQuote = regexp.MustCompile(`%[-+# 0-9.]*q|["“”]`)

// ForeignQuote is the first quote in a Chinese sentence s that is not
// 「」, or "": Chinese quotes names and typed values one way.
func ForeignQuote(s string) string { return foreignQuote.FindString(s) }
