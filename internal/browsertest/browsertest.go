// Package browsertest starts a real headless Chromium for the consoles'
// browser tests, through chromedp. A test that needs one calls New: it
// skips with a clear message when no Chromium is installed, except under
// CI (CI=1), where a skipped browser test would hide a broken console and
// so fails instead. .ci/run installs Debian's chromium.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
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

// Click clicks the first element matching the CSS selector sel, waiting
// until there is one, in one step inside the page. chromedp.Click finds
// the node and then clicks it in a second step: a page that replaces that
// part of itself in between (the emulator's console swaps its live parts
// on every event, more often than not on a busy machine) makes it fail
// with "Could not find node with given id".
func Click(ctx context.Context, sel string) error {
	q, err := json.Marshal(sel)
	if err != nil {
		return err
	}
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false; el.click(); return true; })()`, q)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingMutation())); err != nil {
		return fmt.Errorf("click %s: %w", sel, err)
	}
	return nil
}
