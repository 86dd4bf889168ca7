package operator

import (
	"testing"

	"github.com/recallbot/recallbot/internal/onelanguage"
)

// TestRefusalWordsAreOneLanguage: no Chinese sentence of the operator's
// refusals holds a run of English words (codes, ids, key names in
// backticks and URLs aside), and every key has both languages.
func TestRefusalWordsAreOneLanguage(t *testing.T) {
	onelanguage.Catalogue(t, "refusalWords", refusalWords)
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
