package app

import (
	"fmt"
	"net"
	"runtime/debug"

	"go.uber.org/zap"
)

// Build is what the running binary was built from, as the Go toolchain
// stamped it: `recallbot version`, the startup log line, /readyz, the
// console's status bar and the recallbot_build_info metric all say it.
type Build struct {
	// Version is the stamped version (-ldflags "-X main.version=v1.2.3"),
	// else the module version: a pseudo-version such as
	// v0.0.0-20261129140211-3f9a1c2e0b7d from `go build` in a git checkout,
	// or (devel) from `go run` and builds without VCS information.
	Version string
	// Revision is the git commit, Time its time (RFC 3339); both empty
	// when the build carries no VCS information.
	Revision, Time string
	// Modified is set when the checkout had uncommitted changes.
	Modified bool
}

// ReadBuild is the running binary's Build; stamped is the version set at
// build time, or "".
func ReadBuild(stamped string) Build {
	bi, _ := debug.ReadBuildInfo()
	return buildOf(stamped, bi)
}

// buildOf reads bi (nil when the binary carries no build information).
func buildOf(stamped string, bi *debug.BuildInfo) Build {
	b := Build{Version: stamped}
	if bi == nil {
		if b.Version == "" {
			b.Version = "(devel)"
		}
		return b
	}
	if b.Version == "" {
		b.Version = bi.Main.Version
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the version as `recallbot version` prints it: "v1.2.0", or
// "v0.0.0-20261129140211-3f9a1c2e0b7d (revision 3f9a1c2e0b7d,
// 2026-11-29T14:02:11Z)" with ", modified" for a changed checkout.
func (b Build) String() string {
	if b.Revision == "" {
		return b.Version
	}
	dirty := ""
	if b.Modified {
		dirty = ", modified"
	}
	return fmt.Sprintf("%s (revision %.12s, %s%s)", b.Version, b.Revision, b.Time, dirty)
}

// runningFields are the startup log line's: the version, DingTalk, the
// HTTP API and, when it is on, the console's URL, for a person to open.
func (a *App) runningFields() []zap.Field {
	f := []zap.Field{zap.String("version", a.Build.String()), zap.String("api_base", a.Config.DingTalk.APIBase),
		zap.String("http", a.HTTPAddr()), zap.Int("admins", len(a.Config.Admins))}
	if a.Console != nil {
		f = append(f, zap.String("console", consoleURL(a.HTTPAddr())))
	}
	return f
}

// consoleURL is the console's address for a browser on this machine: a
// listener on every interface (0.0.0.0:8470) is reached at 127.0.0.1.
func consoleURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsUnspecified() {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return "http://" + addr + "/ui/"
}
