// Package invisible drops the characters a reader cannot see: Unicode's
// format characters (category Cf), that is zero-width spaces and joiners
// (U+200B..U+200D, U+2060, U+FEFF), direction marks, embeddings, overrides
// and isolates (U+200E, U+200F, U+061C, U+202A..U+202E, U+2066..U+2069)
// and their kin, and the other code points that render as nothing
// (variation selectors, Hangul fillers, the blank Braille pattern; see Is).
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

// Strip returns s without the characters a reader cannot see; a line or
// paragraph separator (U+2028, U+2029) becomes a space, since readers
// break the line there or not at all.
func Strip(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return Is(r) || isSeparator(r) }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case Is(r):
			return -1
		case isSeparator(r):
			return ' '
		}
		return r
	}, s)
}

// Is reports whether r is a character a reader cannot see: a format
// character (category Cf), a variation selector (U+FE00..U+FE0F,
// U+E0100..U+E01EF, the Mongolian ones), one of Unicode's other default
// ignorable code points (the combining grapheme joiner U+034F, the Hangul
// fillers U+115F, U+1160, U+3164, U+FFA0, the Khmer inherent vowels
// U+17B4, U+17B5, ...), or the blank Braille pattern U+2800, which
// renders as nothing and is a known way to hide text.
func Is(r rune) bool {
	return r > 0x7f && (unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || r == '\u2800')
}

// isSeparator reports whether r is a line or paragraph separator.
func isSeparator(r rune) bool { return r == '\u2028' || r == '\u2029' }
