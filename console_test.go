package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
	poll(ctx, t, "the notice is shown recalled", last+`.classList.contains('recalled') && `+last+`.querySelector('.notice').textContent.endsWith('撤回了一条消息') && `+last+`.querySelector('del').textContent.includes('notice 2')`)
	poll(ctx, t, "the bot's reply is shown", `[...document.querySelectorAll('.msg.bot:not(.recalled) .bubble')].some(b => b.textContent.includes('1 recalled'))`)
	poll(ctx, t, "the composer heard the reply through ?wait", `document.getElementById('status').textContent === 'the bot answered (1 message)'`)
	if m, _ := h.srv.Message(sent[1].ProcessQueryKey); !m.Recalled {
		t.Fatal("the emulator does not show notice 2 recalled")
	}

	// Mark the first notice read by the admin (the reader it proposes: the
	// last one who spoke), and arm a fault.
	first := fmt.Sprintf(`.msg.bot[data-key=%q]`, sent[0].ProcessQueryKey)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(first+` form.read button`))); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the read mark is shown", fmt.Sprintf(`document.querySelector(%q).textContent === '已读 %s'`, first+" .reads", admin))
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

// TestDemoInteractiveServesTheConsole: demo -interactive plays the scene,
// prints the console's address and keeps serving it until stopped. With
// RECALLBOT_SCREENSHOT=1 it also writes docs/img/emulator-console.png from
// a real browser (the README's picture).
func TestDemoInteractiveServesTheConsole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo", "-interactive", "-locale", "zh"}, &out, io.Discard) }()
	consoleURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+/ui/\?chat=\S+`)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := waitFor(wctx, func() bool { return consoleURL.MatchString(out.String()) }); err != nil {
		t.Fatalf("no console URL printed: %v\n%s", err, out.String())
	}
	u := consoleURL.FindString(out.String())
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"撤回了一条消息", "今晚值班：张三（有误，应为李四）", "/recall last 5", "撤回结果"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	if os.Getenv("RECALLBOT_SCREENSHOT") != "" {
		screenshot(t, u, filepath.Join("docs", "img", "emulator-console.png"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo -interactive: %v", err)
	}
}

// screenshot writes a picture of the console at u, in a realistic state: a
// message read, a fault armed, one OpenAPI call's details open.
func screenshot(t *testing.T, u, path string) {
	base := u[:strings.Index(u, "/ui/")]
	post := func(p, body string) {
		resp, err := http.Post(base+p, "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(`#live.on`))); err != nil {
		t.Fatal(err)
	}
	keys, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.msg.bot:not(.recalled)')].map(m => m.dataset.key)`))
	if err != nil || len(keys) < 2 {
		t.Fatalf("bot messages: %v %v", keys, err)
	}
	post("/sim/v1/reads", fmt.Sprintf(`{"processQueryKey":%q,"userId":"manager4220"}`, keys[len(keys)-2]))
	post("/sim/v1/faults", `{"api":"/v1.0/robot/privateChatMessages/batchRecall","kind":"qps","count":2}`)
	poll(ctx, t, "the page is up to date", `document.querySelector('#state .fault') && document.querySelector('.reads .reader')`)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}
