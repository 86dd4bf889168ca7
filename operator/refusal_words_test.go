package operator

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/internal/onelanguage"
)

// TestRefusalWordsAreOneLanguage: no Chinese sentence of the operator's
// refusals holds a run of English words (codes, ids, key names in
// backticks and URLs aside), and every key has both languages.
func TestRefusalWordsAreOneLanguage(t *testing.T) {
	for key, w := range refusalWords {
		if w[0] == "" || w[1] == "" {
			t.Errorf("refusalWords[%q] = %q: a language is missing", key, w)
		}
		if strings.Contains(w[0]+w[1], "`") {
			t.Errorf("refusalWords[%q] holds a backtick, which a terminal shows as it is: %q", key, w)
		}
		if run := onelanguage.EnglishRun(w[0]); run != "" {
			t.Errorf("refusalWords[%q] in Chinese holds English %q: %s", key, run, w[0])
		}
	}
}

// TestChineseRefusalsQuoteOneWay: a Chinese refusal quotes a typed value
// or a name with 「」, never with %q's ASCII quotes or “”.
func TestChineseRefusalsQuoteOneWay(t *testing.T) {
	for key, w := range refusalWords {
		if q := onelanguage.ForeignQuote(w[0]); q != "" {
			t.Errorf("refusalWords[%q] in Chinese quotes with %s: %s", key, q, w[0])
		}
	}
}
