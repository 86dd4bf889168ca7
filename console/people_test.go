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

// TestConsoleSaysWhoInWords: the console names who did and sent things in
// words, never the codes the records keep: actors ("命令行（API）",
// "HTTP 127.0.0.1"), the bot's own replies as from the bot in answer to
// whoever typed the command, a message sent to several people at once as
// such (not by its first recipient), a one-to-one chat by the person's
// nick when DingTalk said it; the bot's own title is not glued to its
// replies' text; a refused attempt reads with one label, and a refused
// login says the name in it is the one typed.
func TestConsoleSaysWhoInWords(t *testing.T) {
	f := newFixture(t, "zh")
	ctx := context.Background()
	if _, err := f.sender.Send(ctx, groupChat, dingtalk.Markdown("recallbot", "**recallbot 帮助** - /sent 查看"), recall.SendOptions{Origin: ledger.OriginCommand, Actor: "manager4220"}); err != nil {
		t.Fatal(err)
	}
	f.send(ledger.Chat{Family: ledger.OTO, UserID: "intern001"}, "给小李的单聊", recall.SendOptions{Actor: "api:cli"})
	if err := f.led.PutChatInfo(ctx, ledger.ChatInfo{Chat: ledger.Chat{Family: ledger.OTO, UserID: "intern001"}, With: "小李"}); err != nil {
		t.Fatal(err)
	}
	chats := []ledger.Chat{{Family: ledger.OTO, UserID: "manager4220"}, {Family: ledger.OTO, UserID: "intern001"}}
	j, err := f.bc.Start(ctx, recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("第二次广播"), Actor: "api:张测试"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broadcast", func() bool { st, _ := f.bc.Status(ctx, j.ID); return st.State == ledger.JobDone })
	f.browser().post("/ui/login", url.Values{"token": {"nope-nope-nope"}, "name": {"tester"}})

	b := f.browser()
	b.login("王经理")
	list := b.get("/ui/").body
	for _, want := range []string{"机器人（回复 manager4220）", "命令行（API）", "张测试（API）", "群发给 2 人", "与小李的单聊", `<td class="text">recallbot 帮助 - /sent 查看</td>`} {
		if !strings.Contains(list, want) {
			t.Errorf("the messages page lacks %q", want)
		}
	}
	for _, bad := range []string{"api:cli", "api:张测试", "机器人单聊 manager4220", "机器人单聊 intern001", "recallbot recallbot"} {
		if strings.Contains(list, bad) {
			t.Errorf("the messages page shows %q", bad)
		}
	}
	access := b.get("/ui/audit?trail=access").body
	for _, want := range []string{"HTTP 127.0.0.1", "已拒绝</span>：未授权请求", "登录时输入的名字「tester」"} {
		if !strings.Contains(access, want) {
			t.Errorf("the access trail lacks %q", want)
		}
	}
	for _, bad := range []string{"http:127.0.0.1", "拒绝 <span", `"tester"`} {
		if strings.Contains(access, bad) {
			t.Errorf("the access trail shows %q", bad)
		}
	}
}
