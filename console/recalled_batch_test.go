package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestARecalledBroadcastSaysSo: a broadcast recalled from the console is
// marked recalled in the broadcasts list, the recall's receipt names the
// batch it took back, and a second preview of the batch says it was
// recalled already instead of offering nothing to do.
func TestARecalledBroadcastSaysSo(t *testing.T) {
	f := newFixture(t, "en")
	var chats []ledger.Chat
	for i := range 3 {
		chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("u%d", i)})
	}
	j, err := f.bc.Start(context.Background(), recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("wrong notice"), Actor: "api:hr", BatchID: "b-wrong-1"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broadcast", func() bool { st, _ := f.bc.Status(context.Background(), j.ID); return st.State == ledger.JobDone })
	b := f.browser()
	csrf := b.login("alice")
	if a := b.get("/ui/broadcasts"); strings.Contains(a.body, `id="recalled-b-wrong-1"`) {
		t.Errorf("a broadcast not recalled is marked recalled:\n%s", a.body)
	}
	a := b.post("/ui/preview", url.Values{"csrf": {csrf}, "batch": {j.ID}})
	if a.status != 200 || field(a.body, "plan") == "" {
		t.Fatalf("preview: %d %s", a.status, a.body)
	}
	code := regexp.MustCompile(`<code id="code">([A-Z2-9]{6})</code>`).FindStringSubmatch(a.body)
	if code == nil {
		t.Fatalf("preview without a code: %s", a.body)
	}
	a = b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {field(a.body, "plan")}, "confirm": {code[1]}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("recall: %d %s", a.status, a.body)
	}
	events(t, b, a.header.Get("Location")+"/events")
	a = b.get(a.header.Get("Location"))
	if !strings.Contains(a.body, "b-wrong-1") {
		t.Errorf("the receipt does not name the batch:\n%s", a.body)
	}
	if a := b.get("/ui/broadcasts"); !strings.Contains(a.body, `id="recalled-b-wrong-1">recalled<`) {
		t.Errorf("the recalled broadcast is not marked recalled:\n%s", a.body)
	}
	a = b.post("/ui/preview", url.Values{"csrf": {csrf}, "batch": {j.ID}})
	if !strings.Contains(a.body, `id="already">Batch b-wrong-1 was recalled already`) || strings.Contains(a.body, `id="nothing"`) {
		t.Errorf("a second preview does not say the batch was recalled already:\n%s", a.body)
	}
}

// TestMessagesOfOneBatchAreRecalledAsTheBatch: every message of a
// broadcast ticked on the messages page is previewed and recalled as its
// batch, and the receipt names the batch, not "N key(s)"; a part of a
// batch stays a recall of those messages.
func TestMessagesOfOneBatchAreRecalledAsTheBatch(t *testing.T) {
	f := newFixture(t, "en")
	var chats []ledger.Chat
	for i := range 3 {
		chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("u%d", i)})
	}
	for _, id := range []string{"b-whole", "b-other"} {
		j, err := f.bc.Start(context.Background(), recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("notice " + id), Actor: "api:hr", BatchID: id})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the broadcast", func() bool { st, _ := f.bc.Status(context.Background(), j.ID); return st.State == ledger.JobDone })
	}
	es, err := f.led.Batch(context.Background(), "b-whole")
	if err != nil || len(es) == 0 {
		t.Fatalf("batch: %v %v", es, err)
	}
	others, _ := f.led.Batch(context.Background(), "b-other")
	b := f.browser()
	csrf := b.login("alice")
	a := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(es...)})
	if !strings.Contains(a.body, "Scope: batch b-whole") {
		t.Errorf("the whole batch ticked is not previewed as the batch:\n%s", a.body)
	}
	a = b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(append(es, others...)...)})
	if strings.Contains(a.body, "Scope: batch") {
		t.Errorf("two batches ticked are previewed as one:\n%s", a.body)
	}
}

// TestConsoleHasAFavicon: every page links a small SVG icon, served as
// SVG to anyone (the login page shows it too).
func TestConsoleHasAFavicon(t *testing.T) {
	f := newFixture(t, "en")
	b := f.browser()
	if a := b.get("/ui/login"); !strings.Contains(a.body, `<link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">`) {
		t.Errorf("the login page links no icon:\n%s", a.body)
	}
	a := b.get("/ui/static/favicon.svg")
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(a.body, "<svg") || len(a.body) > 2048 {
		t.Errorf("the icon: %d %q, %d bytes", a.status, a.header.Get("Content-Type"), len(a.body))
	}
}
