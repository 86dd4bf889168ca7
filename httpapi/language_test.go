package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/internal/onelanguage"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

// TestRefusalsSpeakTheBotsLanguage: the main refusals, asked of a bot
// with locale zh and of one with en over HTTP, come in that language
// only: the message in Chinese holds no run of English words, the English
// one no Chinese, the code is the same English word in both, and the
// answer says its language in Content-Language.
func TestRefusalsSpeakTheBotsLanguage(t *testing.T) {
	const tok = "tok-0123456789abcdef"
	cases := []struct {
		name, method, path, body string
		noToken                  bool
		status                   int
		code, zh, en             string
	}{
		{"no token", "GET", "/v1/audit", "", true, 401, "unauthorized", "需要有效的令牌", "a valid Authorization: Bearer token"},
		{"not JSON", "POST", "/v1/messages", `{"family":"private"`, false, 400, "bad_request", "不完整", "unexpected EOF"},
		{"an unknown field", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","colour":"red"}`, false, 400, "bad_request", `未知字段 "colour"`, `unknown field "colour"`},
		{"a key twice", "POST", "/v1/messages", `{"family":"oto","user_id":"a","user_id":"b","text":"t"}`, false, 400, "bad_request", "键「user_id」给出了两次", `"user_id" is given twice`},
		{"a client too long", "GET", "/v1/audit?client=" + strings.Repeat("x", 65), "", false, 400, "bad_request", "client 有 65 个字符", "client is 65 characters long"},
		{"no text", "POST", "/v1/messages", `{"family":"group","conversation_id":"c"}`, false, 400, "bad_request", "需要「text」", `"text" (or "msg_key" and "msg_param") is required`},
		{"a group without its id", "POST", "/v1/messages", `{"family":"group","text":"t"}`, false, 400, "bad_request", "会话需要 conversation id", "a group chat needs a conversation id"},
		{"expires_in past the window", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t","expires_in":"25h"}`, false, 400, "refused", "expires_in 为 1 天 1 小时，太长", "expires_in 1 day 1 h is too long"},
		{"DingTalk refuses", "POST", "/v1/messages", `{"family":"group","conversation_id":"c","text":"t"}`, false, 502, "invalid.openConversationId", "会话 ID 无效", "is not valid"},
		{"a broadcast to nobody", "POST", "/v1/broadcasts", `{"text":"t"}`, false, 400, "bad_request", "合计须为 1 到 100000 个接收方", "must name 1 to 100000 recipients"},
		{"an empty selection", "POST", "/v1/recalls", `{}`, false, 400, "bad_selection", "没有选择任何消息", "the selection is empty"},
		{"last over max_last", "POST", "/v1/recalls", `{"conversation_id":"c","last":500}`, false, 400, "bad_request", "最近 500 条超过了按条数撤回的上限 100", "last 500 is more than 100"},
		{"since neither", "POST", "/v1/recalls", `{"conversation_id":"c","since":"yesterday"}`, false, 400, "bad_request", "since「yesterday」既不是时长", "is neither a duration"},
		{"no such recall", "GET", "/v1/recalls/r-nope", "", false, 404, "not_found", "没有该 ID 的撤回", "no recall with that id"},
		{"no such entry", "POST", "/v1/entries/999/resolve", `{"state":"unknown"}`, false, 404, "not_found", "没有记录 999", "no entry 999"},
		{"sent without its key", "POST", "/v1/entries/1/resolve", `{"state":"sent"}`, false, 409, "cannot_resolve", "标记为已发送需要提供消息 ID", "resolving to sent needs"},
		{"no such message", "GET", "/v1/messages/nokey", "", false, 404, "not_found", "没有该 process_query_key 的消息", "no message with that process_query_key"},
		{"no such broadcast", "DELETE", "/v1/broadcasts/b-nope", "", false, 404, "not_found", "没有批次 ID 为「b-nope」的群发", `no broadcast with batch id "b-nope"`},
		{"no such state", "GET", "/v1/entries/bogus", "", false, 400, "bad_request", "「bogus」不是记录状态", `"bogus" is not a state`},
		{"a limit that is not a number", "GET", "/v1/audit?limit=abc", "", false, 400, "bad_request", "limit 必须是非负整数", "limit must be a whole number"},
		{"a conversation with no messages", "GET", "/v1/conversations/nobody/messages", "", false, 404, "unknown_conversation", "账本中没有会话 nobody 的消息", "the ledger has no messages in conversation nobody"},
		{"no such route", "GET", "/v1/nope", "", false, 404, "not_found", "没有这个路由：GET /v1/nope", "no such route: GET /v1/nope"},
		{"a URL too long", "GET", "/v1/audit?x=" + strings.Repeat("y", 2100), "", false, 414, "uri_too_long", "URL 超过了 2048 字节", "the URL is longer than 2048 bytes"},
		{"the root without a console", "GET", "/", "", true, 404, "not_found", "操作台未开启", "the operator's console is off"},
	}
	for _, locale := range []string{"zh", "en"} {
		led := tempLedger(t)
		srv := httptest.NewServer(newAPI(t, tok, led, operator.Config{Locale: locale}, recall.Config{}).Handler())
		defer srv.Close()
		for _, c := range cases {
			t.Run(locale+"/"+c.name, func(t *testing.T) {
				req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
				if err != nil {
					t.Fatal(err)
				}
				if !c.noToken {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				e := &api.Error{Status: resp.StatusCode}
				if err := json.Unmarshal(body, e); err != nil {
					t.Fatalf("%d, not the error envelope: %v: %.200s", resp.StatusCode, err, body)
				}
				want := c.en
				if locale == "zh" {
					want = c.zh
				}
				if resp.StatusCode != c.status || e.Code != c.code || !strings.Contains(e.Message, want) {
					t.Errorf("%s %s = %d %s %q\nwant %d %s, a message with %q", c.method, c.path, resp.StatusCode, e.Code, e.Message, c.status, c.code, want)
				}
				if got := resp.Header.Get("Content-Language"); got != locale {
					t.Errorf("Content-Language = %q, want %q", got, locale)
				}
				if locale == "zh" {
					if run := onelanguage.EnglishRun(e.Message); run != "" {
						t.Errorf("the Chinese answer holds English %q: %s", run, e.Message)
					}
				} else if strings.ContainsFunc(e.Message, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
					t.Errorf("the English answer holds Chinese: %s", e.Message)
				}
			})
		}
	}
}
