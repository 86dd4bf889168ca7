package recall

import (
	"strconv"
	"strings"
)

// ActorWords is who did something, as the ledger and the audit trail
// keep it ("api:cli", "api:张测试", "http:127.0.0.1", "rule:secrets",
// "system", a staffId), in words for people in locale ("en", or Chinese
// otherwise): "命令行（API）", "张测试（API）", "HTTP 127.0.0.1". The
// records keep the code, so programs still read it; every place that
// shows an actor to a person (the console, chat's /audit, the CLI) says it
// through this one function.
func ActorWords(actor, locale string) string {
	en := locale == "en"
	pick := func(zh, e string) string {
		if en {
			return e
		}
		return zh
	}
	kind, name, named := strings.Cut(actor, ":")
	switch {
	case !named:
		if w, ok := fixedActors[actor]; ok {
			return pick(w[0], w[1])
		}
		return actor // a staffId
	case kind == "api" && name == "cli":
		return pick("命令行（API）", "the CLI (API)")
	case kind == "api":
		return pick(name+"（API）", name+" (API)")
	case kind == "http":
		return "HTTP " + name
	case kind == "rule":
		return pick("规则 "+name, "rule "+name)
	}
	return actor
}

// fixedActors are the actors that are not a person or a client, Chinese
// first.
var fixedActors = map[string][2]string{
	"api":        {"HTTP 接口", "the HTTP API"},
	"system":     {"机器人自身", "the bot itself"},
	"stream":     {"Stream 连接", "the Stream connection"},
	"autorecall": {"自动撤回", "automatic recall"},
	"console":    {"控制台", "the console"},
	"chat":       {"聊天命令", "chat commands"},    // a minute's refused commands, counted
	"http":       {"HTTP 请求", "HTTP requests"}, // a minute's refused requests, counted
}

// typedName says the note of a console login refused for a wrong token:
// the name typed in the login form, kept quoted ("tester"). Said alone it
// reads as if "tester" were the token or the cause; it is the name the
// person gave beside the token.
func typedName(note, locale string) string {
	name, err := strconv.Unquote(note)
	if err != nil {
		return note
	}
	if locale == "en" {
		return "the name typed at login: " + strconv.Quote(name)
	}
	return "登录时输入的名字" + QuoteName(name, locale)
}

// QuoteName quotes a name (a chat's title, a person, a text to match) the
// one way a locale quotes names: 「」 in Chinese (full width, so a table
// lines up the same in every terminal, where “” may be one column or
// two), ASCII double quotes in English.
func QuoteName(name, locale string) string {
	if locale == "en" {
		return `"` + name + `"`
	}
	return "「" + name + "」"
}
