package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/recallbot/recallbot/app"
)

// Version is `recallbot version`: it prints the version and the revision
// the binary was built from (app.Build). stamped is the version set at
// build time (-ldflags "-X main.version=v1.2.3"), or "".
func Version(args []string, stdout, stderr io.Writer, stamped string) error {
	fs := newFlagSet("version", "version", stderr)
	if err := parseFlags(fs, args, envLang(os.Getenv)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, "version takes no arguments")
	}
	_, err := fmt.Fprintln(stdout, versionLine(app.ReadBuild(stamped)))
	return err
}

// versionLine is what `recallbot version` prints for b. A build with no
// version stamped ("(devel)": go run, or go build outside a checkout) says
// so plainly, with the revision when the toolchain stamped one.
func versionLine(b app.Build) string {
	if b.Version != "(devel)" {
		return "recallbot " + b.String()
	}
	line := "recallbot (devel): a development build with no version stamped"
	if b.Revision != "" {
		dirty := ""
		if b.Modified {
			dirty = ", modified"
		}
		line += fmt.Sprintf(", from revision %.12s (%s%s)", b.Revision, b.Time, dirty)
	}
	return line + `; a release stamps one with -ldflags "-X main.version=v1.2.3"`
}
