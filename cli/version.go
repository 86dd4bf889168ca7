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
	_, err := fmt.Fprintln(stdout, "recallbot", app.ReadBuild(stamped))
	return err
}
