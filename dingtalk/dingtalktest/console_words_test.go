package dingtalktest_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestConsoleIsInOneLanguage: the emulator's console speaks English around
// what the chat's members wrote (read marks, the recall notice), and a
// recalled markdown message is read as markdown for the tester, as a live
// one is, not shown with its marks.
func TestConsoleIsInOneLanguage(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	tok := accessToken(t, srv)
	const cid = "cidwords"
	if err := srv.AddConversation(cid, dingtalktest.KindPrivate, "words"); err != nil {
		t.Fatal(err)
	}
	o := srv.Options()
	param, _ := json.Marshal(map[string]string{"title": "发布通知", "text": "**今晚** 22:00 发布 v2.4"})
	body, _ := json.Marshal(map[string]string{"msgKey": "sampleMarkdown", "msgParam": string(param), "openConversationId": cid, "robotCode": o.RobotCode, "coolAppCode": o.CoolAppCode})
	status, resp := post(t, srv.URL()+dingtalktest.PathPrivateSend, tok, string(body))
	var sent struct{ ProcessQueryKey string }
	if err := json.Unmarshal([]byte(resp), &sent); status != 200 || err != nil {
		t.Fatalf("send: %d %s", status, resp)
	}
	sendPrivate(t, srv, tok, cid, "still here")
	recall := `{"robotCode":"` + o.RobotCode + `","openConversationId":"` + cid + `","processQueryKeys":["` + sent.ProcessQueryKey + `"]}`
	if status, resp := post(t, srv.URL()+dingtalktest.PathPrivateRecall, tok, recall); status != 200 {
		t.Fatalf("recall: %d %s", status, resp)
	}

	_, page := get(t, srv.URL()+"/ui/?chat="+url.QueryEscape(cid))
	page = page[strings.Index(page, `<section id="chat"`):] // the call log shows the wire as it was
	page = page[:strings.Index(page, "</section>")]
	for _, bad := range []string{"已读", "未读", "撤回了一条消息", "**今晚**"} {
		if strings.Contains(page, bad) {
			t.Errorf("the console shows %q", bad)
		}
	}
	for _, want := range []string{"recalled a message", "unread", `<b>今晚</b> 22:00 发布 v2.4`} {
		if !strings.Contains(page, want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	del := page[strings.Index(page, "<del>"):]
	if !strings.Contains(del[:strings.Index(del, "</del>")], "<b>今晚</b>") {
		t.Errorf("the recalled markdown is not read: %s", del[:strings.Index(del, "</del>")])
	}
}
