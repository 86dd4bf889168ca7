package dingtalktest_test

import (
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestConsoleNamesPeopleAndSpeaksEnglish: the emulator's console lists a
// one-to-one chat by the nick its user wrote under (not the staffId), and
// a chat whose last message was recalled says so in English, as the chat
// itself does ("the bot recalled a message"), not 撤回了一条消息.
func TestConsoleNamesPeopleAndSpeaksEnglish(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	if _, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "manager4220", SenderNick: "王经理", Text: "/status"}); err != nil {
		t.Fatal(err)
	}
	const cid = "cidnames"
	if err := srv.AddConversation(cid, dingtalktest.KindPrivate, "names"); err != nil {
		t.Fatal(err)
	}
	gone := sendPrivate(t, srv, tok, cid, "gone")
	o := srv.Options()
	recall := `{"robotCode":"` + o.RobotCode + `","openConversationId":"` + cid + `","processQueryKeys":["` + gone + `"]}`
	if status, resp := post(t, srv.URL()+dingtalktest.PathPrivateRecall, tok, recall); status != 200 {
		t.Fatalf("recall: %d %s", status, resp)
	}
	_, page := get(t, srv.URL()+"/ui/")
	list := page[strings.Index(page, `id="chats"`):]
	list = list[:strings.Index(list, "</section>")]
	for _, want := range []string{"王经理 ↔ bot", "the bot recalled a message"} {
		if !strings.Contains(list, want) {
			t.Errorf("the chat list lacks %q", want)
		}
	}
	for _, bad := range []string{"manager4220 ↔ bot", "撤回了一条消息"} {
		if strings.Contains(list, bad) {
			t.Errorf("the chat list shows %q", bad)
		}
	}
}
