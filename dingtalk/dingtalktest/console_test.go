package dingtalktest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/browsertest"
)

const hostile = `<img src=x onerror="alert(1)">`

// TestConsolePageRenders: the console shows a chat as its members see it
// (bubbles, keys, a recalled message the way DingTalk shows it, read marks),
// the calls and the frames, escaping everything anyone typed; it is not an
// OpenAPI call itself, and it forbids inline script.
func TestConsolePageRenders(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	cid := "cidconsole" + hostile
	if err := srv.AddConversation(cid, dingtalktest.KindPrivate, "ops "+hostile); err != nil {
		t.Fatal(err)
	}
	keep := sendPrivate(t, srv, tok, cid, "kept "+hostile)
	gone := sendPrivate(t, srv, tok, cid, "gone for good")
	if _, err := srv.PushMessage(dingtalktest.UserMessage{ConversationID: cid, SenderStaffID: "manager4220", Text: "/recall " + hostile}); err != nil {
		t.Fatal(err)
	}
	body := `{"robotCode":"` + srv.Options().RobotCode + `","openConversationId":` + jsonString(cid) + `,"processQueryKeys":[` + jsonString(gone) + `]}`
	if status, resp := post(t, srv.URL()+dingtalktest.PathPrivateRecall, tok, body); status != 200 {
		t.Fatalf("recall: %d %s", status, resp)
	}
	if err := srv.MarkRead(keep, "lijun"); err != nil {
		t.Fatal(err)
	}
	calls := len(srv.Calls())

	resp, page := get(t, srv.URL()+"/ui/?chat="+url.QueryEscape(cid))
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /ui/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(page, "<img") || strings.Contains(page, "onerror=\"") {
		t.Error("user-typed HTML reached the page unescaped")
	}
	for _, want := range []string{
		`ops &lt;img src=x onerror=&#34;alert(1)&#34;&gt;`, // the title
		`kept &lt;img src=x`,                      // a bot message
		`/recall &lt;img src=x`,                   // a user message
		`data-key="` + esc(keep) + `"`,            // its key
		`read by <span class="reader"`, ">lijun<", // read by
		`<div class="msg bot recalled" data-key="` + esc(gone) + `"`, // recalled…
		" recalled a message</div>", "<del>gone for good</del>",      // …as DingTalk shows it, and the original for the tester
		"privateChatMessages/batchRecall", "1 key", "1 recalled, 0 failed", // the call log
		"queued", "manager4220: /recall &lt;img", // the frame log: no connection yet
		`<script src="assets/console.js" defer></script>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Count(page, "<script") != 1 {
		t.Error("the page has inline script")
	}

	// The assets, the redirect, the console's 404: none is an OpenAPI call.
	if resp, js := get(t, srv.URL()+"/ui/assets/console.js"); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(js, "EventSource") {
		t.Errorf("console.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, srv.URL()+"/ui/assets/console.css"); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("console.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, page := get(t, srv.URL()+"/ui"); resp.StatusCode != 200 || !strings.Contains(page, "DingTalk emulator") {
		t.Errorf("/ui: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL()+"/ui/nope"); resp.StatusCode != 404 {
		t.Errorf("/ui/nope: %d", resp.StatusCode)
	}
	if n := len(srv.Calls()); n != calls {
		t.Errorf("the console's requests were recorded as OpenAPI calls: %d, want %d", n, calls)
	}

	// A chat that does not exist yet, and an emulator without any chat.
	if resp, page := get(t, srv.URL()+"/ui/?chat=cidnothing"); resp.StatusCode != 200 || !strings.Contains(page, "No chat cidnothing") {
		t.Errorf("unknown chat: %d", resp.StatusCode)
	}
	empty := newServer(t, dingtalktest.Options{})
	if resp, page := get(t, empty.URL()+"/ui/"); resp.StatusCode != 200 || !strings.Contains(page, "No chat yet") {
		t.Errorf("empty emulator: %d", resp.StatusCode)
	}
}

// esc is s as html/template writes it (a key's + is &#43;).
func esc(s string) string {
	return strings.ReplaceAll(template.HTMLEscapeString(s), "+", "&#43;")
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type sseEvent struct {
	ID   string `json:"id"`
	HTML string `json:"html"`
}

// events reads the console's event stream into a channel.
func events(t *testing.T, ctx context.Context, u string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<22)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == "part":
				var e sseEvent
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e) == nil {
					ch <- e
				}
			}
		}
	}()
	return ch
}

// await returns the first event of part id whose HTML contains want.
func await(t *testing.T, ch <-chan sseEvent, id, want string) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("the event stream ended before %s showed %q", id, want)
			}
			if e.ID == id && strings.Contains(e.HTML, want) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event showing %q", id, want)
		}
	}
}

// TestConsoleEventsFollowTheChat: the event stream sends every part at
// once, then the parts that changed: a new message in the chat, the call
// it caused, a read mark, an armed fault.
func TestConsoleEventsFollowTheChat(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	if err := srv.AddConversation("cidlive", dingtalktest.KindGroup, "live"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	ch := events(t, ctx, srv.URL()+"/ui/events?chat=cidlive")
	for _, part := range []string{"chats", "chat", "users", "state", "stream", "calls"} {
		await(t, ch, part, `id="`+part+`"`)
	}

	if _, err := srv.PushMessage(dingtalktest.UserMessage{ConversationID: "cidlive", ConversationType: "2", SenderStaffID: "u1", Text: "hello <b>bot</b>"}); err != nil {
		t.Fatal(err)
	}
	await(t, ch, "chat", "hello &lt;b&gt;bot&lt;/b&gt;")
	await(t, ch, "users", `value="u1"`)

	o := srv.Options()
	param, _ := json.Marshal(map[string]string{"content": "hi u1"})
	body, _ := json.Marshal(map[string]string{"msgKey": "sampleText", "msgParam": string(param), "openConversationId": "cidlive", "robotCode": o.RobotCode})
	status, resp := post(t, srv.URL()+dingtalktest.PathGroupSend, tok, string(body))
	var sent struct{ ProcessQueryKey string }
	if err := json.Unmarshal([]byte(resp), &sent); status != 200 || err != nil {
		t.Fatalf("group send: %d %s", status, resp)
	}
	await(t, ch, "chat", esc(sent.ProcessQueryKey))
	await(t, ch, "calls", "groupMessages/send")
	if err := srv.MarkRead(sent.ProcessQueryKey, "u1"); err != nil {
		t.Fatal(err)
	}
	await(t, ch, "chat", `read by <span class="reader"`)
	srv.Fail(dingtalktest.PathGroupRecall, dingtalktest.FaultServerError, 2)
	await(t, ch, "state", "5xx ×2")
}

// TestConsoleInABrowser: in a real browser, a new group is added from the
// console and opened; a message there without @bot is shown but not
// pushed; a user speaking in their own 1:1 chat with the bot is taken to
// it; a connection's zombie button makes it one.
func TestConsoleInABrowser(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	sdkClient(t, srv, newInbox().handle)
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL()+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
		chromedp.SetValue(chromedp.CSS(`.newchat input[name=conversationId]`), "cidBrowserGroup=="),
		chromedp.SetValue(chromedp.CSS(`.newchat input[name=title]`), "oncall <b>"),
		chromedp.Click(chromedp.CSS(`.newchat button`)),
		chromedp.WaitVisible(chromedp.CSS(`#composer input[name=atBot]`)), // the group's page
	); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.chathead h2`)))
	if err != nil || title != "oncall <b>" {
		t.Fatalf("the group's title: %q %v", title, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#composer input[name=senderStaffId]`), "u1"),
		chromedp.Click(chromedp.CSS(`#composer input[name=atBot]`)), // unchecked
		chromedp.SetValue(chromedp.CSS(`#composer input[name=text]`), "chatter"),
		chromedp.Click(chromedp.CSS(`#composer button`)),
	); err != nil {
		t.Fatal(err)
	}
	browserPoll(ctx, t, "the message is shown, not pushed", `[...document.querySelectorAll('.msg.user .meta')].some(m => m.textContent.includes('not pushed'))`)
	if st := srv.StreamStats(); st.Pushed != 0 {
		t.Errorf("%d frames pushed for a message without @bot", st.Pushed)
	}

	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#composer select[name=chat]`), "-"),
		chromedp.SetValue(chromedp.CSS(`#composer input[name=text]`), "/help"),
		chromedp.Click(chromedp.CSS(`#composer button`)),
	); err != nil {
		t.Fatal(err)
	}
	c, ok := srv.UserConversation("u1")
	if err := srv.WaitUntil(testContext(t), func() bool { c, ok = srv.UserConversation("u1"); return ok }); err != nil {
		t.Fatal(err)
	}
	browserPoll(ctx, t, "the page shows u1's chat with the bot", `document.body.dataset.chat === `+jsonString(c.ID)+` && document.querySelector('.msg.user .meta') && document.querySelector('.msg.user .meta').textContent.includes('ACKed')`, true)

	conn := srv.Connections()[0].ID
	// The stream panel is a live part, swapped on every event (a frame,
	// a ping): clicked in one step, or the click can meet a replaced node.
	if err := browsertest.Click(ctx, `#stream .conns button[data-post$="/zombie"]`); err != nil {
		t.Fatal(err)
	}
	browserPoll(ctx, t, "the connection is shown a zombie", `document.querySelector('#stream .cstate').textContent === 'zombie'`)
	if cs := srv.Connections(); len(cs) != 1 || cs[0].ID != conn || !cs[0].Zombie {
		t.Errorf("connections: %+v", cs)
	}
}

// browserPoll waits until the JavaScript expression is true in the page,
// re-checked on every DOM mutation. A navigation ends a poll: with
// acrossLoads it starts again on the new page, else it fails.
func browserPoll(ctx context.Context, t *testing.T, what, expr string, acrossLoads ...bool) {
	t.Helper()
	for try := 0; ; try++ {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(10*time.Second)))
		if err == nil {
			return
		}
		if len(acrossLoads) > 0 && acrossLoads[0] && try < 5 && !errors.Is(err, chromedp.ErrPollingTimeout) && ctx.Err() == nil {
			continue
		}
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s: %v\nthe page shows:\n%s", what, err, text)
	}
}
