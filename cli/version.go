package cli

import (
	"fmt"
	"io"
	"runtime/debug"
)

// Version is `recallbot version`: it prints the version and the revision
// the binary was built from. stamped is the version set at build time
// (-ldflags "-X main.version=v1.2.3"), or "".
func Version(stdout io.Writer, stamped string) error {
	fmt.Fprintln(stdout, "recallbot", buildVersion(stamped))
	return nil
}

// buildVersion is the module version and the VCS revision the binary was
// built from: "v1.2.0", or "(devel) 3f9a1c2e0b7d, 2026-11-29T14:02:11Z,
// modified" for a build from a checkout.
func buildVersion(stamped string) string {
	v := stamped
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if v == "" {
		v = bi.Main.Version
	}
	var rev, when, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	if rev == "" {
		return v
	}
	return fmt.Sprintf("%s (revision %.12s, %s%s)", v, rev, when, dirty)
}
