package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/recall"
)

// TestPreviewCountsAGroupAsAChat: a group message reaches a chat whose
// members the bot does not know, so the preview counts it as a group,
// not as one person; people are counted where the bot knows them.
func TestPreviewCountsAGroupAsAChat(t *testing.T) {
	f := newFixture(t, "en")
	g := []string{ids(f.send(groupChat, "wrong on-call", recall.SendOptions{}))[0], ids(f.send(groupChat, "test alert", recall.SendOptions{}))[0]}
	b := f.browser()
	csrf := b.login("alice")
	page := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": g}).body
	if !strings.Contains(page, "2 messages would be recalled, in 1 group (from everyone in them).") || strings.Contains(page, "reaching 2 people") {
		t.Errorf("a preview of two group messages: %s", field(page, "reach"))
	}
	both := append(g, ids(f.send(privChat, "to one person", recall.SendOptions{}))...)
	page = b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": both}).body
	if !strings.Contains(page, "3 messages would be recalled, in 2 chats: 1 group, and 1 recipient in chats of their own.") {
		t.Errorf("a preview of group and private messages: %s", page)
	}
}

// TestFinishedRecallSaysItIsFinished: the page of a recall that has ended
// says so, with its receipt, instead of asking for a reload to see
// progress there will never be.
func TestFinishedRecallSaysItIsFinished(t *testing.T) {
	f := newFixture(t, "en")
	e := f.send(privChat, "wrong on-call", recall.SendOptions{})
	b := f.browser()
	csrf := b.login("alice")
	preview := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(e)}).body
	a := b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {field(preview, "plan")}})
	loc := a.header.Get("Location")
	events(t, b, loc+"/events")
	page := b.get(loc).body
	if strings.Contains(page, "Reload the page to see the progress") || !strings.Contains(page, "This recall has finished") ||
		!strings.Contains(page, `id="receipt"`) {
		t.Errorf("a finished recall's page: %s", page)
	}
}

// TestCancelOfAFinishedBroadcastSaysNothingWasCancelled: cancelling a
// broadcast that has finished changes nothing, and the console says so
// with its final counts instead of "cancelled what was not sent yet".
func TestCancelOfAFinishedBroadcastSaysNothingWasCancelled(t *testing.T) {
	f := newFixture(t, "en")
	b := f.browser()
	csrf := b.login("alice")
	if _, err := f.op.Broadcast(context.Background(), &api.BroadcastRequest{UserIDs: []string{"u1", "u2"}, Content: api.Content{Text: "maintenance"}, BatchID: "m-2", Client: "ops"}); err != nil {
		t.Fatal(err)
	}
	events(t, b, "/ui/broadcasts/m-2/events")
	a := b.post("/ui/broadcasts/m-2/cancel", url.Values{"csrf": {csrf}})
	if a.status != http.StatusConflict || !strings.Contains(a.body, "broadcast m-2 had already finished, so nothing was cancelled: sent 2 of 2, refused 0, not sent 0") {
		t.Errorf("cancel of a finished broadcast: %d %s", a.status, a.body)
	}
	if page := b.get("/ui/broadcasts/m-2").body; strings.Contains(page, `id="cancelled"`) {
		t.Errorf("the broadcast reads as cancelled: %s", page)
	}
}
