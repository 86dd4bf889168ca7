package handlers

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/recallbot/recallbot/internal/invisible"
	"github.com/recallbot/recallbot/recall"
)

// texts are the bot's words, Chinese first, English second.
var texts = map[string][2]string{
	"help.all": {
		"**recallbot 帮助**\n\n- `/sent [N]` 查看本会话中机器人最近发送的消息\n- `/status` 查看机器人状态\n- `/help` 显示本帮助",
		"**recallbot help**\n\n- `/sent [N]` the bot's recent messages in this chat\n- `/status` the bot's state\n- `/help` this help",
	},
	"help.admin": {
		"\n\n管理员命令：\n- `/recall last 5` 撤回本会话中机器人最近 5 条消息（也可 `/撤回 最近 5`）\n- `/recall since 30m` 撤回最近 30 分钟内的消息\n- `/recall batch 批次ID` 撤回一次群发的全部消息\n- `/recall 消息ID …` 按 processQueryKey 撤回\n- `/recall last 5 in 会话ID` 或 `to 员工ID`：其他会话\n- `/recall matching \"db-7\"` 撤回内容包含 db-7 的消息（可与 last、since、in、to 同用）\n- 加 `--dry-run` 或用 `/preview …` 只预览不撤回\n- 加 `已读`（或 `reads`）先查看谁已读过（每条消息一次查询）\n- `/confirm 确认码` 确认大批量或跨会话撤回（%s内有效）\n- `/audit [N]` 查看撤回审计记录",
		"\n\nAdmin commands:\n- `/recall last 5` recall the bot's last 5 messages in this chat\n- `/recall since 30m` recall what it sent in the last 30 minutes\n- `/recall batch BATCH_ID` recall one broadcast everywhere\n- `/recall KEY …` recall by processQueryKey\n- `/recall last 5 in CONVERSATION_ID` or `to STAFF_ID`: another chat\n- `/recall matching \"db-7\"` the messages whose text contains db-7 (with last, since, in or to too)\n- add `--dry-run`, or use `/preview …`, to see without recalling\n- add `reads` to see first who has read them (one query per message)\n- `/confirm CODE` confirms a large or cross-chat recall (valid %s)\n- `/audit [N]` the recall audit trail",
	},
	"unknown":           {"命令有误：%s。发送 `/help` 查看用法。", "That did not work: %s. Send `/help` for the commands."},
	"not.command":       {"我只处理以 / 开头的命令。发送 `/help` 查看可用命令。", "I only handle commands that start with /. Send `/help` for the list."},
	"not.text":          {"我只能处理文字命令。发送 `/help` 查看可用命令。", "I can only read text commands. Send `/help` for the list."},
	"denied":            {"抱歉，只有管理员可以撤回消息或查看审计记录。本次尝试已记录。", "Sorry, only admins may recall messages or read the audit trail. This attempt has been recorded."},
	"internal":          {"抱歉，出现内部错误（消息 %s）。请联系管理员。", "Sorry, something went wrong inside the bot (message %s). Please tell an admin."},
	"receipt":           {"**撤回结果**：%s", "**Recall receipt**: %s"},
	"preview":           {"**预览**（未撤回）：%s，需 %s", "**Preview** (nothing recalled): %s, %s"},
	"calls.api":         {"%d 次接口调用", ""},
	"calls.query":       {"%d 次查询", ""},
	"reads.undone":      {"\n\n撤回前已有人读过：钉钉撤回消息不会通知任何人，也无法抹去已被读到或复制的内容。", "\n\nSome had read it before the recall: DingTalk takes a message back silently and cannot undo what someone already read or copied."},
	"others":            {"\n\n⚠️ 其中 %d 条消息是群发中一次发给多人的：撤回时会同时从另外 %d 人那里撤回。", "\n\n⚠️ %d of these messages went to several people at once: recalling %s takes %s back from %s too."},
	"confirm.ask":       {"\n\n请在 %[2]s内回复 `/confirm %[1]s` 确认撤回以上消息。", "\n\nReply `/confirm %[1]s` within %[2]s to recall exactly these messages."},
	"confirm.elsewhere": {"\n\n以上消息在%s，不在本会话：跨会话撤回需要确认。", "\n\nThese messages are in %s, not in this chat: a recall in another chat needs your confirmation."},
	"confirm.none":      {"确认码 %s 无效或已过期（确认码只能使用一次）。", "Code %s is unknown or has expired (codes work once)."},
	"confirm.who":       {"确认码 %s 不是发给你的：只有发起预览的管理员可以确认。", "Code %s is not yours: only the admin who asked for the preview may confirm it."},
	"nothing":           {"没有找到可撤回的消息：%s", "Nothing to recall: %s"},
	"no.chat":           {"没有会话 %s 的发送记录。", "I have no record of messages in conversation %s."},
	"max.last":          {"一次最多撤回 %d 条", "at most %d messages at once"},
	"sent.none":         {"本会话中还没有机器人发送的消息记录。", "The bot has sent nothing recorded in this chat."},
	"sent.head":         {"**本会话最近 %d 条机器人消息**", "**The bot's last %d message(s) in this chat**"},
	"audit.none":        {"还没有撤回记录。", "No recall attempts yet."},
	"audit.head":        {"**最近 %d 条撤回记录**", "**The last %d recall attempt(s)**"},
	"status":            {"**状态**\n\n- Stream 连接：%s\n- 账本：%d 条记录（结果待定 %d，撤回中 %d，撤回失败 %d）", "**Status**\n\n- Stream connection: %s\n- Ledger: %d entries (pending %d, recalling %d, recall failed %d)"},
	"up":                {"已连接", "connected"},
	"down":              {"未连接", "disconnected"},
	"more":              {"… 以及另外 %d 条", "… and %d more"},
	"left":              {"剩余 %s", "%s left"},
	"too.old":           {"已超过撤回时限", "past the recall window"},
	"withheld":          {"（内容已撤回）", "(content recalled)"},
	"reads.hint":        {"\n\n想先看谁已读？在命令后加上「已读」（需 %s，约 %s）。", "\n\nWant to see who has read them first? Add `reads` to the command (%s, about %s)."},
	"reads.hint.one":    {"\n\n想先看谁已读？在命令后加上「已读」（需 %s，约 %s）。", "\n\nWant to see who has read it first? Add `reads` to the command (%s, about %s)."},
	"slow.down":         {"请慢一点：你发送命令的速度超过了限制（连续最多 %d 条，之后每 %s一条），多出的命令已忽略、没有执行。放慢速度后即可照常使用。", "Slow down, please: you sent commands faster than I take them (%d at once, then one every %s), so I skipped the extra ones without running them. Commands sent more slowly work as usual."},
	"chat.this.group":   {"本群", "this group"},
	"chat.this.chat":    {"本会话", "this chat"},
	"ledger.down":       {"抱歉，机器人的发送记录（账本）暂时不可用，本条命令没有执行。请稍后重试。", "Sorry, the bot's ledger is unavailable right now, so the command was not run. Please try again in a minute."},
	"status.version":    {"版本：%s", "Version: %s"},
	"busy":              {"现在有很多人同时给我发命令，超过了我对非管理员命令的总限制，你的这条命令已忽略、没有执行。请过一分钟再试。", "Many people are sending me commands at once, more than I take from people who are not admins, so I skipped yours without running it. Please try again in a minute."},
}

// md makes text that came from outside (what a user typed, a message
// excerpt, an id) safe inside a markdown reply: markdown's punctuation
// becomes its full-width twin, so nothing a user types turns into a link,
// an image or formatting, "://" loses the colon a linkifier looks for, and
// line breaks become spaces; invisible marks are dropped (internal/invisible). It
// reads the same to a person.
func md(s string) string { return mdEscaper.Replace(invisible.Strip(s)) }

// quote is md for text that may hold a secret (an excerpt, a command a
// user typed): secrets are redacted first, while they still read as
// typed, since escaping turns the "_" or "-" a pattern looks for into
// its full-width twin and the redactor would no longer see them. The
// invisible marks go before that too: a zero-width space typed inside a
// token must not hide it from the redactor and then vanish from the reply.
func (b *Bot) quote(s string) string { return md(b.cfg.Redact(invisible.Strip(s))) }

// inlineCode is `code` in the bot's own texts (what users type is
// escaped by md, backquotes included, so every one left is the bot's).
var inlineCode = regexp.MustCompile("`([^`\n]+)`")

// codeAsBold shows the bot's `code` as bold: DingTalk's markdown has
// headings, quotes, bold, italics, links, images and lists, but no inline
// code (its message guide lists no such syntax; the emulator draws it as
// it is), so a reply would show the backquotes themselves.
func codeAsBold(s string) string { return inlineCode.ReplaceAllString(s, "**$1**") }

// mdEscaper leaves "(", ")" and "!" as they are: they make a link or an
// image only after "[...]", and both brackets are escaped, so an English
// reply that quotes an error keeps its ASCII parentheses.
var mdEscaper = strings.NewReplacer(
	"[", "［", "]", "］", "<", "＜", ">", "＞",
	"*", "＊", "_", "＿", "`", "｀", "#", "＃", "|", "｜", "~", "～", "\\", "＼",
	"://", "：//", "\r\n", " ", "\n", " ", "\r", " ",
)

// usageText is a usage or selection error inside the "unknown" reply,
// which ends the sentence itself.
func (b *Bot) usageText(msg string) string {
	return b.quote(strings.TrimRight(strings.TrimSpace(msg), "。.!！"))
}

// say formats a text in the locale ("en" or anything else for Chinese).
func say(locale, key string, args ...any) string {
	t, ok := texts[key]
	if !ok {
		t = alertTexts[key]
	}
	s := t[0]
	if locale == "en" {
		s = t[1]
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	if locale == "en" {
		s = recall.Plurals(s) // "1 recall attempt(s)" reads "1 recall attempt"
	}
	return s
}

var stateWords = map[string][2]string{
	"pending": {"结果待定", "pending"}, "sent": {"已发送", "sent"}, "send_failed": {"发送失败", "send failed"},
	"recalling": {"撤回中", "recalling"}, "recalled": {"已撤回", "recalled"}, "recall_failed": {"撤回失败", "recall failed"},
	"expired": {"已超时", "expired"}, "too_old": {"已发送（已超过撤回时限）", "sent, too old to recall"}, "unknown": {"结果未知（已关闭）", "outcome never known"},
}

func stateWord(locale, st string) string {
	w, ok := stateWords[st]
	if !ok {
		return st
	}
	if locale == "en" {
		return w[1]
	}
	return w[0]
}

// calls is n calls in words: "2 次接口调用", "1 API call", "2 API calls";
// kind is "api" or "query".
func calls(locale, kind string, n int) string {
	if locale == "en" {
		what := map[string]string{"api": "API call", "query": "query call"}[kind]
		return recall.Plural(n, what, what+"s")
	}
	return say(locale, "calls."+kind, n)
}
