package dingtalktest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/browsertest"
)

// manyChats adds n groups, more than the console lists at once.
func manyChats(t *testing.T, srv *dingtalktest.Server, n int) {
	t.Helper()
	for i := range n {
		if err := srv.AddConversation(fmt.Sprintf("cidTeam%04d==", i), dingtalktest.KindGroup, fmt.Sprintf("team %04d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleSearchesChats: with more chats than the console lists (after
// a broadcast to thousands), the new chat form comes first, the list says
// how many it shows of how many, and ?q= finds any chat by id or title,
// listed or not.
func TestConsoleSearchesChats(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	manyChats(t, srv, 1200)
	_, page := get(t, srv.URL()+"/ui/")
	form, list := strings.Index(page, `class="panel newchat"`), strings.Index(page, `id="chats"`)
	if form < 0 || list < 0 || form > list {
		t.Errorf("the new chat form is not above the chat list (at %d, the list at %d)", form, list)
	}
	if !strings.Contains(page, `id="chatsearch"`) || !strings.Contains(page, "of 1200: search for the others") {
		t.Errorf("the page has no chat search or does not say the list is cut:\n%.3000s", page[list:])
	}
	_, page = get(t, srv.URL()+"/ui/?q="+url.QueryEscape("TEAM 0007"))
	if !strings.Contains(page, `title="cidTeam0007=="`) || strings.Contains(page, `title="cidTeam0008=="`) || !strings.Contains(page, "1 of 1200 match") {
		t.Errorf("?q=TEAM 0007 does not list only team 0007")
	}
	_, page = get(t, srv.URL()+"/ui/?q=cidTeam000")
	if n := strings.Count(page, `title="cidTeam000`); n != 10 {
		t.Errorf("?q=cidTeam000 lists %d chats, want 10", n)
	}
}

// TestConsoleSearchInABrowser: in a real browser, typing a chat's title
// in the search field and pressing Enter narrows the list to it; its link
// opens it with the search kept.
func TestConsoleSearchInABrowser(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	manyChats(t, srv, 300)
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL()+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
		chromedp.SendKeys(chromedp.CSS(`#chatsearch input[name=q]`), "team 0042\n"),
	); err != nil {
		t.Fatal(err)
	}
	browserPoll(ctx, t, "the list narrowed to team 0042", `document.querySelectorAll('#chats li').length === 1 && document.querySelector('#chats li a').title === 'cidTeam0042=='`, true)
	// Clicked from the page itself: the live stream may replace the list
	// between finding the link and clicking it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#chats li a').click(), true)`)); err != nil {
		t.Fatal(err)
	}
	browserPoll(ctx, t, "team 0042 open, the search kept", `document.body.dataset.chat === 'cidTeam0042==' && document.querySelector('#chatsearch input').value === 'team 0042' && document.querySelectorAll('#chats li').length === 1`, true)
}

// TestEmulatorRootLeadsToTheConsole: the emulator's address opened in a browser
// shows its console.
func TestEmulatorRootLeadsToTheConsole(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(srv.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET / = %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
