package cli

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/recall"
)

// The operator's commands print the bot's words (a receipt's summary, an
// audit record's scope, DingTalk's reasons explained) beside their own.
// The bot says in each answer which language its words are in
// (Content-Language, its config's locale); the commands put their own
// words in the same one, so a line never mixes two languages. A bot that
// does not say gets the language of the user's locale (envLang), as the
// commands' own errors do before any answer.

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
	"left":                {"剩余 %s", "%s left"},
	"reads.hint":          {"想先看谁已读？加上 --read-status（需 %s，约 %s）。", "Want to see who has read them first? Add --read-status (%s, about %s)."},
	"reads.hint.one":      {"想先看谁已读？加上 --read-status（需 %s，约 %s）。", "Want to see who has read it first? Add --read-status (%s, about %s)."},
	"audit.cols":          {"编号|时间|操作人|操作|范围|结果", "ID|WHEN|WHO|WHAT|SCOPE|RESULT"},
	"refused":             {"已拒绝", "refused"},
	"entries.cols":        {"编号|发送时间|会话|发送方|消息|原因", "ID|SENT|CHAT|BY|MESSAGE|REASON"},
	"entries.none":        {"没有%s的记录", "no %s entries"},
	"state.pending":       {"结果待定", "pending"},
	"state.sent":          {"已发送", "sent"},
	"state.send_failed":   {"发送失败", "send_failed"},
	"state.unknown":       {"结果未知", "unknown"},
	"resolved":            {"记录 %d 现在是%s", "entry %d is now %s"},
	"state.recalling":     {"撤回中", "recalling"},
	"state.recall_failed": {"撤回失败", "recall_failed"},
	"sent":                {"已发送：记录 %d，消息 ID %s", "sent: entry %d, key %s"},
	"spooled":             {"注意：账本暂不可用，key 在机器人的 spool 中等待，账本恢复后写入", "note: the ledger was unavailable; the key waits in the bot's spool until it is back"},
	"broadcast.started":   {"群发 %s 已开始：%s", "broadcast %s started: %s"},
	"sending":             {"发送中", "sending"},
	"recipients":          {"人", "recipients"},
	"refused.more":        {"… 另有 %d 人被拒绝", "… and %d more refused"},
	"job.running":         {"进行中", "running"},
	"job.done":            {"已完成", "done"},
	"job.cancelled":       {"已取消", "cancelled"},
	"job.failed":          {"失败", "failed"},
	"job.interrupted":     {"已中断", "interrupted"},
	"err.token":           {"请把 RECALLBOT_HTTP_TOKEN 设为机器人的「http.token」", "set RECALLBOT_HTTP_TOKEN to the bot's http.token"},
	"err.unreachable":     {"无法连接机器人的 HTTP API（%s）：%s；机器人在运行吗？地址由 -api 或 RECALLBOT_API 指定", "cannot reach the bot's HTTP API at %s: %s; is the bot running? -api or RECALLBOT_API names it"},
	"err.refused":         {"连接被拒绝", "connection refused"},
	"err.timeout":         {"连接超时", "timed out"},
	"err.no_host":         {"找不到主机 %s", "no such host %s"},
	"usage.one_chat":      {"请只给出 --group、--private、--user 中的一个", "give exactly one of --group, --private or --user"},
	"usage.broadcast":     {"请给出 --text 和接收人（--users 或 --users-file）", "give --text and the users (--users or --users-file)"},
	"usage.one_batch":     {"请给出一个批次 ID", "name one batch id"},
	"usage.one_state":     {"请给出一个状态：pending、recalling 或 recall_failed", "name one state: pending, recalling or recall_failed"},
	"usage.one_entry":     {"请给出一个记录编号", "name one entry id"},
	"usage.entry_id":      {"记录编号必须是正整数，而不是「%s」", "the entry id must be a positive number, not %q"},
	"next.outcome_unknown": {"请在会话中查看消息是否已到达：没有到达，运行 recallbot resolve %[1]d --state send_failed；到达了且知道它的消息 ID，运行 recallbot resolve %[1]d --state sent --key 消息ID；无法确定，运行 recallbot resolve %[1]d --state unknown",
		"check the chat for the message: if it is not there, run recallbot resolve %[1]d --state send_failed; if it is and you know its key, recallbot resolve %[1]d --state sent --key KEY; if nobody can tell, recallbot resolve %[1]d --state unknown"},
	"reason.pending": {"发送没有得到应答，结果待定", "the send got no answer: outcome unknown"},
	"usage.text":     {"请用 --text 给出消息正文", "give the message with --text"},
	"usage.expires":  {"--expires-in 的值「%s」不是正的时长，例如 90s 或 2h", "--expires-in %q is not a positive duration such as 90s or 2h"},
	"usage.last":     {"--last 必须是正整数，而不是 %d", "--last must be a positive number, not %d"},
	"usage.selector": {"请选择要撤回的消息：--keys、--last、--since、--batch 或 --matching", "say which messages to recall: --keys, --last, --since, --batch or --matching"},
	"usage.key":      {"--state sent 需要用 --key 给出消息 ID", "--state sent needs the message's key: --key KEY"},
	"err.code":       {"错误码 %s，HTTP %d", "code %s, HTTP %d"},
	"err.follow":     {"%v；可用 GET /v1/recalls/%s 继续查看", "%v; follow it with GET /v1/recalls/%s"},
}

// envLang is the language the commands speak before the bot has said its
// own: the user's locale (LC_ALL, LC_MESSAGES, LANG, the first set), "zh"
// for a Chinese one and "en" for any other.
func envLang(getenv func(string) string) string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "zh") {
				return "zh"
			}
			return "en"
		}
	}
	return "en"
}

// explain puts an error of the command's own in its words: a bot that
// could not be reached; and a refusal of the bot, which comes in its
// words already, in the command's form (botError).
func (c *ctl) explain(err *error) {
	if ae, ok := (*err).(*api.Error); ok {
		*err = c.botErr(ae)
		return
	}
	var ae *api.Error
	var op *net.OpError
	var dns *net.DNSError
	if *err == nil || errors.As(*err, &ae) || !(errors.As(*err, &op) || errors.As(*err, &dns)) {
		return
	}
	cause := (*err).Error()
	switch {
	case dns != nil && !c.en():
		cause = c.say("err.no_host", dns.Name)
	case dns != nil:
		cause = dns.Error()
	case errors.Is(op, syscall.ECONNREFUSED) && !c.en():
		cause = c.say("err.refused")
	case op.Timeout() && !c.en():
		cause = c.say("err.timeout")
	default:
		cause = op.Error()
	}
	*err = errors.New(c.say("err.unreachable", *c.api, cause))
}

// people is n recipients in words: "1 recipient", "2 recipients", "2 人".
func (c *ctl) people(n int) string {
	if !c.en() {
		return fmt.Sprintf("%d 人", n)
	}
	return recall.Plural(n, "recipient", "recipients")
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
