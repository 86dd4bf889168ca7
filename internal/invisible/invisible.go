// Package invisible drops the characters a reader cannot see: Unicode's
// format characters (category Cf), that is zero-width spaces and joiners
// (U+200B..U+200D, U+2060, U+FEFF), direction marks, embeddings, overrides
// and isolates (U+200E, U+200F, U+061C, U+202A..U+202E, U+2066..U+2069)
// and their kin.
//
// Typed by a user and echoed back, they make a reply read other than it
// is (a right-to-left override turns the rest of the line around); typed
// inside a secret, they split it so that no pattern recognises it. So the
// chat replies, the secrets detector and the redactor all look at text
// without them.
package invisible

import (
	"strings"
	"unicode"
)

// Strip returns s without its format characters.
func Strip(s string) string {
	if !strings.ContainsFunc(s, Is) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if Is(r) {
			return -1
		}
		return r
	}, s)
}

// Is reports whether r is a format character.
func Is(r rune) bool { return unicode.Is(unicode.Cf, r) }
