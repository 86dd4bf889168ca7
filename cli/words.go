package cli

import (
	"fmt"

	"github.com/recallbot/recallbot/recall"
)

// The operator's commands print the bot's words (a receipt's summary, an
// audit record's scope, DingTalk's reasons explained) beside their own.
// The bot says in each answer which language its words are in
// (Content-Language, its config's locale); the commands put their own
// words in the same one, so a line never mixes two languages. A bot that
// does not say gets English.

// texts are the commands' words, Chinese first.
var texts = map[string][2]string{
	"recall":              {"撤回", "recall"},
	"recalling":           {"撤回中", "recalling"},
	"messages":            {"条消息", "messages"},
	"preview":             {"预览（未撤回）", "preview (nothing recalled)"},
	"recall.head":         {"%s：%s；%s；审计记录 #%d", "%s: %s; %s; audit #%d"},
	"read.unknown":        {"已读：未知", "read: unknown"},
	"read.of":             {"已读 %d/%d", "read %d/%d"},
	"read.by":             {"%d 人已读", "read by %d"},
	"reads.hint":          {"加上 --read-status 可先查看谁已读（%s，约 %.0f 秒）", "add --read-status to see who has read them first (%s, about %.0f s)"},
	"audit.cols":          {"编号|时间|操作人|操作|范围|结果", "ID|WHEN|WHO|WHAT|SCOPE|RESULT"},
	"refused":             {"已拒绝", "refused"},
	"entries.cols":        {"编号|发送时间|会话|发送方|消息|原因", "ID|SENT|CHAT|BY|MESSAGE|REASON"},
	"entries.none":        {"没有%s的记录", "no %s entries"},
	"state.pending":       {"待确认", "pending"},
	"state.sent":          {"已发送", "sent"},
	"state.send_failed":   {"发送失败", "send_failed"},
	"state.unknown":       {"结果未知", "unknown"},
	"resolved":            {"记录 %d 现在是%s", "entry %d is now %s"},
	"state.recalling":     {"撤回中", "recalling"},
	"state.recall_failed": {"撤回失败", "recall_failed"},
}

// say is a text in the bot's language.
func (c *ctl) say(key string, args ...any) string {
	t := texts[key]
	s := t[0]
	if c.en() {
		s = t[1]
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// en reports whether the bot speaks English (or did not say): the
// language its last answer stated, else c.lang.
func (c *ctl) en() bool {
	lang := c.lang
	if c.bot != nil && c.bot.Language() != "" {
		lang = c.bot.Language()
	}
	return lang != "zh"
}

// locale is the bot's language as recall's words take it.
func (c *ctl) locale() string {
	if c.en() {
		return "en"
	}
	return "zh"
}

// calls is n calls of an API, in words: "1 API call", "2 API calls",
// "2 次接口调用".
func (c *ctl) calls(n int, what string) string {
	if !c.en() {
		zh := map[string]string{"API": "次接口调用", "query": "次查询调用", "send": "次发送调用"}[what]
		return fmt.Sprintf("%d %s", n, zh)
	}
	return recall.Plural(n, what+" call", what+" calls")
}

// outcome is a receipt item's outcome in words.
func (c *ctl) outcome(o string) string {
	w, ok := outcomeWords[o]
	switch {
	case !ok:
		return o
	case c.en():
		return w[1]
	}
	return w[0]
}

var outcomeWords = map[string][2]string{
	"recalled": {"已撤回", "recalled"}, "would_recall": {"将撤回", "would recall"}, "already_recalled": {"此前已撤回", "already recalled"},
	"too_old": {"超过时限", "too old"}, "failed": {"失败", "failed"}, "unknown": {"无消息 ID", "no key"},
	"never_sent": {"未发送", "never sent"}, "in_progress": {"另一撤回处理中", "being recalled elsewhere"},
	"not_attempted": {"未执行", "not attempted"}, "not_found": {"不在账本中", "not in the ledger"},
}
