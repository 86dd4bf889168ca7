package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/browsertest"
	"github.com/recallbot/recallbot/ledger"
)

// consoleLogin logs a browser in to the bot's console as name, from the
// page the console sent it to.
func consoleLogin(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#token"), testToken),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#operator")),
	); err != nil {
		t.Fatalf("login: %v", err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestConsoleRecallsInABrowser drives the real bot's console in Chromium:
// the console sends a browser without a session to its login form and
// back; the operator finds two messages of a chat, previews them, recalls
// them, watches it run (DingTalk is slow) and reads the receipt the page
// shows once the progress stream ends; DingTalk shows them recalled, the third untouched. Then a
// broadcast packed for three people: its preview names them and asks for
// the code chat's /confirm would, and only the typed code recalls it.
func TestConsoleRecallsInABrowser(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	es := h.notify(3)
	ctx := browsertest.New(t)
	base := "http://" + h.app.HTTPAddr()

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/?chat="+url.QueryEscape(privCID))); err != nil {
		t.Fatal(err)
	}
	consoleLogin(t, ctx, "alice")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-id="%d"]`, es[0].ID)))); err != nil {
		t.Fatalf("the list after login: %v", err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#messages tbody tr[data-id]").length`))
	if err != nil || n != 3 {
		t.Fatalf("%d rows for the chat, %v", n, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="id"][value="%d"]`, es[0].ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="id"][value="%d"]`, es[1].ID))),
		chromedp.Click(chromedp.CSS("#preview")),
		chromedp.WaitVisible(chromedp.CSS("#go")),
	); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if s := text(t, ctx, "#preview-summary"); s != "2 would be recalled" {
		t.Errorf("preview says %q", s)
	}
	if m, _ := h.srv.Message(es[0].ProcessQueryKey); m.Recalled {
		t.Fatal("the preview recalled")
	}
	// DingTalk takes its time: the page shows the recall running and
	// follows it over server-sent events until the receipt. DingTalk's
	// answer is held until the page shows the recall running (a fixed
	// delay let a slow page load miss the running state on a busy
	// machine).
	held := h.srv.HoldAnswers(dingtalktest.PathPrivateRecall, 1)
	defer held.Release()
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#recall")),
		chromedp.WaitVisible(chromedp.CSS(`#job[data-state="running"][data-events]`)),
	); err != nil {
		t.Fatalf("recall: %v", err)
	}
	held.Release()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#receipt"))); err != nil {
		t.Fatalf("the receipt after the recall: %v", err)
	}
	if s := text(t, ctx, "#receipt-summary"); s != "2 recalled" {
		t.Errorf("receipt says %q", s)
	}
	for i, e := range es {
		if m, _ := h.srv.Message(e.ProcessQueryKey); m.Recalled != (i < 2) {
			t.Errorf("message %d: recalled %v", i, m.Recalled)
		}
	}

	// A broadcast packed for three people: beyond any one chat.
	batch, _ := h.broadcast(`{"user_ids":["u1","u2","u3"],"text":"all hands in room 5 (wrong room)"}`)
	packed, _ := h.app.Ledger.Batch(h.ctx(), batch)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui/?batch="+url.QueryEscape(batch)),
		chromedp.Click(chromedp.CSS("#preview-batch")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	); err != nil {
		t.Fatalf("batch preview: %v", err)
	}
	if s := text(t, ctx, "#packed"); !strings.Contains(s, "all 3 of their recipients") {
		t.Errorf("the preview does not say who else it reaches: %q", s)
	}
	// Without the code nothing happens (the form will not submit; the
	// server would refuse it too).
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#confirm"), "ZZZZZZ"), chromedp.Click(chromedp.CSS("#recall")),
		chromedp.WaitVisible(chromedp.CSS("#error"))); err != nil {
		t.Fatalf("a wrong code: %v", err)
	}
	if m, _ := h.srv.Message(packed[0].ProcessQueryKey); m.Recalled {
		t.Fatal("recalled with a wrong code")
	}
	code := text(t, ctx, "#code")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#confirm"), code),
		chromedp.Click(chromedp.CSS("#recall")),
		chromedp.WaitVisible(chromedp.CSS("#receipt")),
	); err != nil {
		t.Fatalf("confirmed recall: %v", err)
	}
	if s := text(t, ctx, "#receipt-summary"); s != "1 recalled · 3 people" {
		t.Errorf("receipt says %q", s)
	}
	if m, _ := h.srv.Message(packed[0].ProcessQueryKey); !m.Recalled {
		t.Error("the broadcast is still shown")
	}
	// And what the people see: the emulator's console shows it taken back
	// in u2's chat, struck through, as DingTalk shows a recalled message.
	conv, ok := h.srv.UserConversation("u2")
	if !ok {
		t.Fatal("u2 has no chat with the bot")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(h.srv.URL()+"/ui/?chat="+url.QueryEscape(conv.ID))); err != nil {
		t.Fatal(err)
	}
	shown := fmt.Sprintf(`document.querySelector('.msg.bot[data-key=%q]')`, packed[0].ProcessQueryKey)
	poll(ctx, t, "the emulator's console shows the broadcast recalled in u2's chat", shown+` && `+shown+`.classList.contains('recalled') && `+
		shown+`.querySelector('.notice').textContent.endsWith('recalled a message') && `+shown+`.querySelector('del').textContent.includes('wrong room')`)
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 10})
	for _, r := range recs {
		if r.Actor != "api:alice" {
			t.Errorf("audit record by %q: %+v", r.Actor, r)
		}
	}
}

// TestConsoleRefusesWithoutSessionOrCSRF: in a real browser, a script on
// the console's own page cannot change anything without the page's CSRF
// token (403), and a browser without a session gets 401 from the
// console's endpoints and the login form for its pages.
func TestConsoleRefusesWithoutSessionOrCSRF(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{})
	e := h.notify(1)[0]
	base := "http://" + h.app.HTTPAddr()
	post := func(ctx context.Context, withToken bool) int {
		t.Helper()
		js := fmt.Sprintf(`fetch("/ui/preview", {method: "POST", credentials: "same-origin",
			headers: Object.assign({"Content-Type": "application/x-www-form-urlencoded"}, %v ? {"X-CSRF-Token": document.querySelector('meta[name="csrf"]').content} : {}),
			body: "id=%d"}).then(r => r.status)`, withToken, e.ID)
		status, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return status
	}

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/audit")); err != nil {
		t.Fatal(err)
	}
	consoleLogin(t, ctx, "alice")
	if status := post(ctx, false); status != 403 {
		t.Errorf("without the CSRF token: %d", status)
	}
	if status := post(ctx, true); status != 200 {
		t.Errorf("with the CSRF token: %d", status)
	}
	recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 5})
	if len(recs) != 1 || recs[0].Action != "dry_run" {
		t.Errorf("audit %+v: want only the preview that carried the token", recs)
	}

	// Another browser, with no session.
	anon := browsertest.New(t)
	if err := chromedp.Do(anon, chromedp.Navigate(base+"/ui/login")); err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(anon, chromedp.Evaluate[int](`fetch("/ui/read?key=k", {headers: {"Accept": "application/json"}}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != 401 {
		t.Errorf("a script without a session: %d %v", status, err)
	}
	if err := chromedp.Do(anon, chromedp.Navigate(base+"/ui/broadcasts"), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		t.Errorf("a page without a session: %v", err)
	}
	loc, _ := chromedp.Run(anon, chromedp.Location())
	if !strings.Contains(loc, "/ui/login?next=%2Fui%2Fbroadcasts") {
		t.Errorf("sent to %s", loc)
	}
	if recs, _ := h.app.Ledger.Audit(h.ctx(), ledger.AuditQuery{Limit: 5}); len(recs) != 1 {
		t.Errorf("a request without a session reached the engine: %+v", recs)
	}
}

// TestConsoleScreenshot writes docs/img/bot-console.png, docs/console.md's
// picture of the console: the runbook's moment, a wrong broadcast's
// recall previewed with who has read it. Set RECALLBOT_SCREENSHOT=1 to
// write it; normal runs leave the file alone.
func TestConsoleScreenshot(t *testing.T) {
	t.Parallel()
	if os.Getenv("RECALLBOT_SCREENSHOT") == "" {
		t.Skip("set RECALLBOT_SCREENSHOT=1 to write docs/img/bot-console.png")
	}
	h := start(t, dingtalktest.Options{})
	users := make([]string, 500)
	for i := range users {
		users[i] = fmt.Sprintf("staff%04d", 1000+i*7)
	}
	ids, _ := json.Marshal(users)
	batch, _ := h.broadcast(`{"user_ids":` + string(ids) + `,"text":"全员大会改到明天 15:00，地点 5 号会议室（有误，应为 3 号）","client":"hr-portal","batch_id":"b-20261129-1502-3f9a"}`)
	es, _ := h.app.Ledger.Batch(h.ctx(), batch)
	for i, e := range es {
		for j, u := range e.Recipients {
			if (i*7+j*3)%5 == 0 {
				_ = h.srv.MarkRead(e.ProcessQueryKey, u)
			}
		}
	}
	ctx := browsertest.New(t)
	base := "http://" + h.app.HTTPAddr()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/?batch="+url.QueryEscape(batch))); err != nil {
		t.Fatal(err)
	}
	consoleLogin(t, ctx, "wang.jing")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#with-read")),
		chromedp.Click(chromedp.CSS("#preview-batch")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "img", "bot-console.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
