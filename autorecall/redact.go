package autorecall

import (
	"strings"

	"github.com/recallbot/recallbot/internal/invisible"
)

// Redactor hides secrets in text recallbot repeats back: its replies to
// commands (an admin who pastes a secret into /recall must not see it
// posted to the chat) and its audit records (a stranger who types the HTTP
// token into the chat must not get it written down). It finds what the
// secrets rule finds: the bot's own credentials, exactly, and the shapes of
// leaked secrets (PEM keys, AWS key ids, JWTs, DingTalk tokens and app
// secrets, password=/token= assignments).
type Redactor struct {
	own []string
}

// NewRedactor returns a Redactor for the bot's own credentials.
func NewRedactor(ownSecrets []string) *Redactor {
	r := &Redactor{}
	for _, s := range ownSecrets {
		if len(s) >= 8 { // shorter values would redact ordinary words
			r.own = append(r.own, s)
		}
	}
	return r
}

// Redacted replaces every secret found with this.
const Redacted = "[redacted]"

// Redact returns s with every secret replaced by Redacted.
// Invisible formatting characters (zero-width spaces, direction marks) are
// dropped first: one typed inside a token would otherwise split it so that
// no pattern sees it, and the token would be written down whole.
func (r *Redactor) Redact(s string) string {
	s = invisible.Strip(s)
	for _, v := range r.own {
		s = strings.ReplaceAll(s, v, Redacted)
	}
	lower := asciiLower(s)
	for _, l := range secretPatterns {
		if !l.match(s, lower) {
			continue
		}
		s = l.re.ReplaceAllStringFunc(s, func(m string) string {
			if placeholder.MatchString(m) {
				return m // password=******** hides nothing
			}
			return Redacted
		})
		lower = asciiLower(s)
	}
	return s
}
