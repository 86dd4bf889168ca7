package httpapi

import (
	"testing"

	"github.com/recallbot/recallbot/internal/onelanguage"
)

// TestRouteWordsAreOneLanguage: no Chinese sentence of the API's own
// refusals holds a run of English words.
func TestRouteWordsAreOneLanguage(t *testing.T) {
	onelanguage.Catalogue(t, "routeWords", routeWords)
	for key, zh := range decoderWords {
		if run := onelanguage.EnglishRun(zh); run != "" {
			t.Errorf("decoderWords[%q] holds English %q: %s", key, run, zh)
		}
	}
}

// TestChineseRouteWordsQuoteOneWay: the API's own Chinese refusals quote a
// typed value or a key with 「」, never with %q's ASCII quotes or “”.
func TestChineseRouteWordsQuoteOneWay(t *testing.T) {
	for key, w := range routeWords {
		if q := onelanguage.ForeignQuote(w[0]); q != "" {
			t.Errorf("routeWords[%q] in Chinese quotes with %s: %s", key, q, w[0])
		}
	}
	for key, w := range decoderWords {
		if q := onelanguage.ForeignQuote(w); q != "" {
			t.Errorf("decoderWords[%q] quotes with %s: %s", key, q, w)
		}
	}
}
