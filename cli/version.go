package cli

import (
	"fmt"
	"io"

	"github.com/recallbot/recallbot/app"
)

// Version is `recallbot version`: it prints the version and the revision
// the binary was built from (app.Build). stamped is the version set at
// build time (-ldflags "-X main.version=v1.2.3"), or "".
func Version(stdout io.Writer, stamped string) error {
	_, err := fmt.Fprintln(stdout, "recallbot", app.ReadBuild(stamped))
	return err
}
