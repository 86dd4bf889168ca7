package console

import (
	"strings"
	"testing"
)

// TestLabelsShowNoActorCode: no label of the console (the login page's
// hint above all) shows an actor's code such as api:<name>; it says the
// name as the audit trail shows it, in words.
func TestLabelsShowNoActorCode(t *testing.T) {
	for key, w := range texts {
		for i, s := range w {
			if strings.Contains(s, "api:") {
				t.Errorf("%s (%s) shows an actor's code: %q", key, []string{"zh", "en"}[i], s)
			}
		}
	}
}
