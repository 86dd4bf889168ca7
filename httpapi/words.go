package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/recallbot/recallbot/internal/jsonkeys"
	"github.com/recallbot/recallbot/operator"
)

// routeWords are the sentences of the refusals the API makes itself
// (routes, bodies, the token), Chinese first; the operator's actions word
// their own. Like theirs, they are put in words when the answer is
// written, in the language it states in Content-Language, the bot's
// locale; codes stay English words for programs.
var routeWords = map[string][2]string{
	"no_route":       {"没有这个路由：%s %s", "no such route: %s %s"},
	"messages_index": {"请指明一条消息：GET /v1/messages/{process_query_key}（路径需转义），或列出一个会话：GET /v1/conversations/{id}/messages", "name a message: GET /v1/messages/{process_query_key} (path-escaped), or list a chat: GET /v1/conversations/{id}/messages"},
	"uri_too_long":   {"URL 超过了 %d 字节", "the URL is longer than %d bytes"},
	"unauthorized":   {"需要有效的令牌：请求头「Authorization: Bearer <token>」", "a valid Authorization: Bearer token is required"},
	"too_large":      {"请求体超过了 %d KiB", "the body is larger than %d KiB"},
	"unreadable":     {"请求体无法读取：%v", "the body could not be read: %v"},
	"not_object":     {"请求体必须是一个 JSON 对象：%s", "the body must be a JSON object: %s"},
	"one_object":     {"请求体只能包含一个 JSON 对象", "the body must hold one JSON object"},
	"ambiguous":      {"请求体有歧义：%s", "the body is ambiguous: %s"},
	"whole_number":   {"%s 必须是非负整数，而不是「%s」", "%s must be a whole number, not %q"},
	"entry_id":       {"记录编号必须是正整数", "the entry id must be a positive number"},
	"root":           {"这里是 recallbot 的 HTTP API：路由在 /v1/ 下（需要令牌），另有 /healthz、/readyz 和 /metrics；操作台未开启（设置「http.console: true」后在 /ui/ 提供）", "this is recallbot's HTTP API: its routes are under /v1/ (with a bearer token), and /healthz, /readyz and /metrics; the operator's console is off (set http.console: true to serve it at /ui/)"},
}

// decoderWords are the Chinese of what Go's JSON decoder and
// jsonkeys.Repeated say in English, for the facts they give; an English
// answer keeps their own sentence, as it always has.
var decoderWords = map[string]string{
	"json.syntax":   "第 %d 字节处不是有效的 JSON",
	"json.eof":      "JSON 不完整，在结尾处中断",
	"json.unknown":  "未知字段 %s",
	"json.type":     "%s 的类型不对：应为 %s，而不是 %s",
	"json.top":      "请求体应为对象，而不是 %s",
	"key_twice":     "键「%s」给出了两次%s；每个键只能给一次",
	"key_two_cases": "键「%s」和「%s」%s 是同一个键写了两次（键不区分大小写）；每个键只能给一次",
	"key_in":        "（在 %s 中）",
}

// english is en in English and decoderWords' key, with args, in Chinese.
func english(en, key string, args ...any) operator.Words {
	return func(locale string) string {
		if locale == "en" {
			return en
		}
		return fmt.Sprintf(decoderWords[key], args...)
	}
}

// say is a sentence of routeWords, worded when it is shown.
func say(key string, args ...any) operator.Words { return operator.Say(routeWords, key, args...) }

// refusal is a refusal the API makes itself.
func refusal(status int, code, key string, args ...any) *operator.Refusal {
	return operator.NewRefusal(status, code, say(key, args...))
}

func badRequest(key string, args ...any) *operator.Refusal {
	return refusal(http.StatusBadRequest, "bad_request", key, args...)
}

// jsonWords is why Go's decoder refused a body, its facts in the
// reader's words.
func jsonWords(err error) operator.Words {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	en := err.Error()
	switch {
	case errors.As(err, &syn):
		return english(en, "json.syntax", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return english(en, "json.eof")
	case errors.As(err, &typ) && typ.Field == "":
		return english(en, "json.top", typ.Value)
	case errors.As(err, &typ):
		return english(en, "json.type", typ.Field, typ.Type.String(), typ.Value)
	}
	if f, ok := strings.CutPrefix(en, "json: unknown field "); ok {
		return english(en, "json.unknown", f)
	}
	return func(string) string { return en } // no other is known to reach here
}

// repeatedWords is a key given twice (jsonkeys.RepeatedError) in the
// reader's words.
func repeatedWords(err error) operator.Words {
	var re *jsonkeys.RepeatedError
	if !errors.As(err, &re) {
		return func(string) string { return err.Error() }
	}
	in := ""
	if re.Path != "" {
		in = fmt.Sprintf(decoderWords["key_in"], re.Path)
	}
	if re.Key == re.First {
		return english(err.Error(), "key_twice", operator.Value(re.Key), in)
	}
	return english(err.Error(), "key_two_cases", operator.Value(re.First), operator.Value(re.Key), in)
}
