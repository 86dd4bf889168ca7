package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recallbot/recallbot/internal/browsertest"
)

// TestDemoInteractiveServesTheConsole: demo -interactive plays the scene,
// prints the console's address and keeps serving it until stopped. With
// RECALLBOT_SCREENSHOT=1 it also writes docs/img/emulator-console.png from
// a real browser (docs/console.md's picture).
func TestDemoInteractiveServesTheConsole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Locale: "zh", Interactive: true}, &out) }()
	consoleURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+/ui/\?chat=\S+`)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := waitFor(wctx, func() bool { return consoleURL.MatchString(out.String()) }); err != nil {
		t.Fatalf("no console URL printed: %v\n%s", err, out.String())
	}
	u := consoleURL.FindString(out.String())
	// The ending is in the demo's language, as the scene was: no English
	// sentence, no space before a colon, the emulator by its Chinese name.
	ending := out.String()[max(0, strings.Index(out.String(), "Ctrl-C")-20):]
	for _, bad := range []string{"The bot keeps running", "Or open", " :", "DingTalk 模拟器"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("demo -interactive under zh prints %q:\n%s", bad, ending)
		}
	}
	if !strings.Contains(out.String(), "== 钉钉模拟器 ") || !strings.Contains(ending, "用令牌") {
		t.Errorf("demo -interactive under zh does not end in Chinese:\n%s", ending)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"recalled a message", "今晚值班：张三（有误，应为李四）", "/recall last 5", "撤回结果"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	if os.Getenv("RECALLBOT_SCREENSHOT") != "" {
		screenshot(t, u, filepath.Join("..", "docs", "img", "emulator-console.png"))
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
