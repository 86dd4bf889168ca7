package dingtalktest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

func put(t testing.TB, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-acs-dingtalk-access-token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCardErrorCodes: each malformed card call gets the code of the card
// APIs' error tables, and nothing reaches a chat.
func TestCardErrorCodes(t *testing.T) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_ = srv.AddConversation("cidg", dingtalktest.KindGroup, "")
	_ = srv.AddConversation("cidp", dingtalktest.KindPrivate, "")
	tok := accessToken(t, srv)
	robot := srv.Options().RobotCode
	data := `"{\"header\":{\"title\":{\"text\":\"t\"}},\"contents\":[]}"`
	send := func(fields string) string {
		return `{"cardTemplateId":"StandardCard","robotCode":"` + robot + `","cardData":` + data + `,` + fields + `}`
	}
	for _, tc := range []struct {
		name, body, code string
	}{
		{"not json", `{`, "param.error"},
		{"another template", strings.Replace(send(`"openConversationId":"cidg","cardBizId":"b1"`), "StandardCard", "my-template", 1), "template.isNotExist"},
		{"unknown robot", strings.Replace(send(`"openConversationId":"cidg","cardBizId":"b1"`), robot, "nobody", 1), "invalid.robotCode"},
		{"no bizId", send(`"openConversationId":"cidg"`), "invalid.bizId"},
		{"bizId too long", send(`"openConversationId":"cidg","cardBizId":"` + strings.Repeat("b", 101) + `"`), "invalid.bizId"},
		{"neither chat", send(`"cardBizId":"b1"`), "param.error"},
		{"both chats", send(`"openConversationId":"cidg","singleChatReceiver":"{\"userId\":\"u\"}","cardBizId":"b1"`), "param.error"},
		{"not a group", send(`"openConversationId":"cidp","cardBizId":"b1"`), "invalid.openConversationId"},
		{"receiver not json", send(`"singleChatReceiver":"u1","cardBizId":"b1"`), "param.isNotJson"},
		{"receiver without user", send(`"singleChatReceiver":"{}","cardBizId":"b1"`), "invalid.user"},
		{"cardData not json", strings.Replace(send(`"openConversationId":"cidg","cardBizId":"b1"`), data, `"{nope"`, 1), "param.isNotJson"},
	} {
		status, body := post(t, srv.URL()+dingtalktest.PathCardSend, tok, tc.body)
		if status != 400 || errorCode(t, body) != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, status, body, tc.code)
		}
	}
	if c, _ := srv.Conversation("cidg"); len(c.Messages) != 0 {
		t.Errorf("a refused card reached the chat: %+v", c.Messages)
	}
	if status, body := put(t, srv.URL()+dingtalktest.PathCardUpdate, tok, `{"cardBizId":"never-sent","cardData":`+data+`}`); status != 400 || errorCode(t, body) != "invalid.bizId" {
		t.Errorf("update of an unknown card: %d %s", status, body)
	}
	if status, _ := post(t, srv.URL()+dingtalktest.PathCardUpdate, tok, `{"cardBizId":"x"}`); status != 404 {
		t.Errorf("POST to the update path: %d, want 404 (it is a PUT)", status)
	}
	if status, body := post(t, srv.URL()+dingtalktest.PathCardSend, tok, send(`"openConversationId":"cidg","cardBizId":"ok1"`)); status != 200 || !strings.Contains(body, "processQueryKey") {
		t.Errorf("a good card: %d %s", status, body)
	}
	srv.SetCardRefusal(dingtalktest.CardsPermissionDenied)
	if status, body := post(t, srv.URL()+dingtalktest.PathCardSend, tok, send(`"openConversationId":"cidg","cardBizId":"ok2"`)); status != 403 || errorCode(t, body) != "Forbidden.AccessDenied.AccessTokenPermissionDenied" {
		t.Errorf("refused app: %d %s", status, body)
	}
}

// TestConsoleDrawsCards: the console draws a card as DingTalk does (its
// coloured title, its markdown, its buttons as links, nothing a sender put
// in it as live HTML or a javascript: link) and shows its update in place:
// one message, new content, "updated in place ×1".
func TestConsoleDrawsCards(t *testing.T) {
	srv := newServer(t, dingtalktest.Options{})
	_ = srv.AddConversation("cidcards", dingtalktest.KindGroup, "ops")
	tok := accessToken(t, srv)
	card := func(title, text, url string) string {
		return jsonString(`{"header":{"title":{"type":"text","text":` + jsonString(title) + `,"color":"common_red1_color"}},"contents":[` +
			`{"type":"markdown","text":` + jsonString(text) + `,"id":"m"},{"type":"divider","id":"d"},` +
			`{"type":"action","id":"a","actions":[{"type":"button","label":{"type":"text","text":"Graph","id":"l"},"actionType":"openLink","url":{"all":` + jsonString(url) + `},"status":"normal","id":"b"}]}]}`)
	}
	body := `{"cardTemplateId":"StandardCard","robotCode":"` + srv.Options().RobotCode + `","openConversationId":"cidcards","cardBizId":"rb-ui","cardData":` +
		card("🔥 DiskFull "+hostile, "**db1** disk 95%", "javascript:alert(1)") + `}`
	if status, resp := post(t, srv.URL()+dingtalktest.PathCardSend, tok, body); status != 200 {
		t.Fatalf("card: %d %s", status, resp)
	}
	_, page := get(t, srv.URL()+"/ui/?chat=cidcards")
	for _, want := range []string{`class="cardhead red"`, `🔥 DiskFull &lt;img`, `<b>db1</b> disk 95%`, `class="cardbutton" href="#ZgotmplZ"`, "card, not updated"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	upd := `{"cardBizId":"rb-ui","cardData":` + card("✅ DiskFull resolved", "**db1** 60%", "http://prom/graph") + `}`
	if status, resp := put(t, srv.URL()+dingtalktest.PathCardUpdate, tok, upd); status != 200 {
		t.Fatalf("update: %d %s", status, resp)
	}
	_, page = get(t, srv.URL()+"/ui/?chat=cidcards")
	page = chatSection(page)
	if strings.Count(page, `class="card"`) != 1 || !strings.Contains(page, "✅ DiskFull resolved") || strings.Contains(page, "🔥 DiskFull") ||
		!strings.Contains(page, "updated in place ×1") || !strings.Contains(page, `href="http://prom/graph"`) {
		t.Errorf("after the update the chat shows:\n%s", page)
	}
}

// chatSection is the chat's part of a console page (not the calls, which
// hold the request bodies).
func chatSection(page string) string {
	start := strings.Index(page, `<section id="chat"`)
	end := strings.Index(page[max(start, 0):], "</section>")
	if start < 0 || end < 0 {
		return page
	}
	return page[start : start+end]
}
