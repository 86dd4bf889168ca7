package console

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestPreviewNamesAsTheListDoes: the preview names a message sent to
// several people at once as the messages list does ("群发给 2 人", not the
// first recipient's chat), a group row's reach as the whole group (never
// "1" person), a chat by one naming form ("the group X" beside "the
// person-to-person chat X"), and the bot's reply as an answer to the
// nick the ledger knows.
func TestPreviewNamesAsTheListDoes(t *testing.T) {
	for _, loc := range []string{"zh", "en"} {
		f := newFixture(t, loc)
		ctx := context.Background()
		if err := f.led.PutChatInfo(ctx, ledger.ChatInfo{Chat: ledger.Chat{Family: ledger.OTO, UserID: "intern001"}, With: "小李"}); err != nil {
			t.Fatal(err)
		}
		reply, err := f.sender.Send(ctx, groupChat, dingtalk.Text("回复"), recall.SendOptions{Origin: ledger.OriginCommand, Actor: "intern001"})
		if err != nil {
			t.Fatal(err)
		}
		chats := []ledger.Chat{{Family: ledger.OTO, UserID: "u1"}, {Family: ledger.OTO, UserID: "u2"}}
		j, err := f.bc.Start(ctx, recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("maintenance"), Actor: "api:ops", BatchID: "b-2"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the broadcast", func() bool { st, _ := f.bc.Status(ctx, j.ID); return st.State == ledger.JobDone })
		cast, err := f.led.Batch(ctx, "b-2")
		if err != nil || len(cast) != 1 {
			t.Fatalf("the broadcast's entries: %v %v", cast, err)
		}
		priv := f.send(privChat, "to one person", recall.SendOptions{})
		b := f.browser()
		csrf := b.login("alice")
		page := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(append(cast, reply, priv)...)}).body
		want := map[string][]string{
			"zh": {"群发给 2 人", "全群", "单聊 " + privCID},
			"en": {"sent to 2 people", "the whole group", "the person-to-person chat " + privCID, "the group " + groupCID},
		}[loc]
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the preview lacks %q", loc, w)
			}
		}
		for _, bad := range []string{"机器人单聊 u1", "1:1 u1", "person-to-person " + privCID + "<"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: the preview shows %q", loc, bad)
			}
		}
		list := b.get("/ui/").body
		if w := map[string]string{"zh": "机器人（回复 小李）", "en": "the bot, in answer to 小李"}[loc]; !strings.Contains(list, w) {
			t.Errorf("%s: the list lacks %q", loc, w)
		}
	}
}
