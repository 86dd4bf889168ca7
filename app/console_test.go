package app_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/browsertest"
)

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

// TestEmulatorConsoleInABrowser plays an admin in the emulator's console
// with the real bot connected: the bot's message is shown recalled the way
// DingTalk shows it, the bot's reply appears, a read mark and an armed
// fault show, all live, in the page as loaded.
func TestEmulatorConsoleInABrowser(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	sent := h.notify(2)
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.srv.URL()+"/ui/?chat="+url.QueryEscape(privCID)),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)), // the event stream is open
	); err != nil {
		t.Fatal(err)
	}
	// A mark that a reload would wipe out.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.sameLoad = true`)); err != nil {
		t.Fatal(err)
	}
	last := fmt.Sprintf(`document.querySelector('.msg.bot[data-key=%q]')`, sent[1].ProcessQueryKey)
	poll(ctx, t, "the bot's notices are shown with their keys", last+` && `+last+`.textContent.includes('notice 2')`)

	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#composer input[name=senderStaffId]`), admin),
		chromedp.SetValue(chromedp.CSS(`#composer input[name=text]`), "/recall last 1"),
		chromedp.Click(chromedp.CSS(`#composer button`)),
	); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the admin's message is shown", `[...document.querySelectorAll('.msg.user .bubble')].some(b => b.textContent === '/recall last 1')`)
	poll(ctx, t, "the notice is shown recalled", last+`.classList.contains('recalled') && `+last+`.querySelector('.notice').textContent.endsWith('recalled a message') && `+last+`.querySelector('del').textContent.includes('notice 2')`)
	poll(ctx, t, "the bot's reply is shown", `[...document.querySelectorAll('.msg.bot:not(.recalled) .bubble')].some(b => b.textContent.includes('1 recalled'))`)
	poll(ctx, t, "the composer heard the reply through ?wait", `document.getElementById('status').textContent === 'the bot answered (1 message)'`)
	if m, _ := h.srv.Message(sent[1].ProcessQueryKey); !m.Recalled {
		t.Fatal("the emulator does not show notice 2 recalled")
	}

	// Mark the first notice read by the admin (the reader it proposes: the
	// last one who spoke), and arm a fault.
	first := fmt.Sprintf(`.msg.bot[data-key=%q]`, sent[0].ProcessQueryKey)
	// The chat is a live part, swapped on every event: clicked in one step.
	if err := browsertest.Click(ctx, first+` form.read button`); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the read mark is shown", fmt.Sprintf(`document.querySelector(%q).textContent === 'read by %s'`, first+" .reads", admin))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.faults button[value="5xx"]`))); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the armed fault is listed", `document.querySelector('#state .fault') && document.querySelector('#state .fault').textContent.includes('5xx ×1')`)
	if m, _ := h.srv.Message(sent[0].ProcessQueryKey); len(m.ReadBy) != 1 || m.ReadBy[0].UserID != admin {
		t.Errorf("read by %v", m.ReadBy)
	}
	if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.sameLoad === true`)); err != nil || !same {
		t.Errorf("the page was reloaded: %v", err)
	}
}
