package app

import (
	"runtime/debug"
	"testing"
)

// TestBuildAsTheToolchainStampsIt: the version string for what `go build`
// stamps in a git checkout (a pseudo-version and the revision), for `go
// run` and -buildvcs=false builds ((devel), no revision), for a changed
// checkout, and for a version stamped with -ldflags; the first is the line
// README.md shows.
func TestBuildAsTheToolchainStampsIt(t *testing.T) {
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "3f9a1c2e0b7d5e6f7a8b9c0d1e2f3a4b5c6d7e8f"},
			{Key: "vcs.time", Value: "2026-11-29T14:02:11Z"}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"go build", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129140211-3f9a1c2e0b7d"}, Settings: vcs("false")},
			"v0.0.0-20261129140211-3f9a1c2e0b7d (revision 3f9a1c2e0b7d, 2026-11-29T14:02:11Z)"},
		{"go build, changed checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129140211-3f9a1c2e0b7d+dirty"}, Settings: vcs("true")},
			"v0.0.0-20261129140211-3f9a1c2e0b7d+dirty (revision 3f9a1c2e0b7d, 2026-11-29T14:02:11Z, modified)"},
		{"go run", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel)"},
		{"-ldflags", "v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v1.2.3"},
		{"no build information", "", nil, "(devel)"},
	} {
		if got := buildOf(tc.stamped, tc.bi).String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestConsoleURL: a listener on every interface is opened at 127.0.0.1.
func TestConsoleURL(t *testing.T) {
	for addr, want := range map[string]string{"127.0.0.1:8470": "http://127.0.0.1:8470/ui/", "0.0.0.0:8470": "http://127.0.0.1:8470/ui/",
		"[::]:8470": "http://127.0.0.1:8470/ui/", "10.0.0.5:80": "http://10.0.0.5:80/ui/"} {
		if got := consoleURL(addr); got != want {
			t.Errorf("consoleURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
