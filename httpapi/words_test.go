package httpapi

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/internal/onelanguage"
)

// TestRouteWordsAreOneLanguage: no Chinese sentence of the API's own
// refusals holds a run of English words.
func TestRouteWordsAreOneLanguage(t *testing.T) {
	for key, w := range routeWords {
		if w[0] == "" || w[1] == "" {
			t.Errorf("routeWords[%q] = %q: a language is missing", key, w)
		}
		if strings.Contains(w[0]+w[1], "`") {
			t.Errorf("routeWords[%q] holds a backtick, which a terminal shows as it is: %q", key, w)
		}
		if run := onelanguage.EnglishRun(w[0]); run != "" {
			t.Errorf("routeWords[%q] in Chinese holds English %q: %s", key, run, w[0])
		}
	}
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
