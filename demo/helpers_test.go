package demo

import (
	"context"
	"github.com/recallbot/recallbot/internal/watch"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// syncBuffer is an output a test reads while something else writes it.
type syncBuffer = watch.Buffer

// waitFor polls a condition nothing signals, until ctx ends (watch.Until).
var waitFor = watch.Until

// poll waits, in the page, until the JavaScript expression is true,
// re-checking it on every DOM mutation; a navigation fails it, so a poll
// that succeeds also says the page was updated in place.
func poll(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText`))
		t.Fatalf("%s: %v\nthe chat shows:\n%s", what, err, html)
	}
}
