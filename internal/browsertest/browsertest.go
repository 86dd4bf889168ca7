// Package browsertest starts a real headless Chromium for the consoles'
// browser tests, through chromedp. A test that needs one calls New: it
// skips with a clear message when no Chromium is installed, except under
// CI (CI=1), where a skipped browser test would hide a broken console and
// so fails instead. .ci/run installs Debian's chromium.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// candidates are the names Chromium goes by, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// Path is the browser's executable, or "" when none is installed.
func Path() string {
	if p := os.Getenv("RECALLBOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New returns a browser tab's context, closed when the test ends. Each
// call is a fresh browser profile (no cookies shared between tests).
func New(t testing.TB) context.Context {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found (install Debian's chromium; .ci/run does): the browser tests must run in CI")
		}
		t.Skip("no Chromium found: install Debian's chromium (apt-get install chromium) to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// Start the browser now, on a context without a deadline (a deadline
	// on the first run would bound the browser's life): a failure to
	// start is the test's, plainly.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	// Every later action is bounded: a console that never answers fails
	// its test instead of hanging it.
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
