package cli

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/app"
)

// TestVersionSaysWhatWasStamped: a stamped version is printed as it is; a
// development build says it is one, with the revision when there is one.
func TestVersionSaysWhatWasStamped(t *testing.T) {
	for _, c := range []struct {
		b    app.Build
		want []string
	}{
		{app.Build{Version: "v1.2.3"}, []string{"recallbot v1.2.3"}},
		{app.Build{Version: "(devel)"}, []string{"recallbot (devel): a development build with no version stamped"}},
		{app.Build{Version: "(devel)", Revision: "3f9a1c2e0b7d5e6f", Time: "2026-11-29T14:02:11Z", Modified: true},
			[]string{"development build", "revision 3f9a1c2e0b7d (2026-11-29T14:02:11Z, modified)"}},
	} {
		got := versionLine(c.b)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: %q does not say %q", c.b, got, w)
			}
		}
	}
}
