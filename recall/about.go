package recall

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/recallbot/recallbot/ledger"
)

// An audit record keeps facts (ledger.AuditAbout, a reason code), not
// words: the same record is read in chat, in the console and by the CLI,
// in whichever language the reader's bot speaks now. The functions here
// turn those facts into words at display time. Records written before the
// facts existed hold their words in Scope and Note and are shown as they
// are.

// About is the selection as facts, for the audit trail.
func (s Selection) About() *ledger.AuditAbout {
	a := &ledger.AuditAbout{Keys: len(s.Keys), Last: s.Last, Since: s.Since, Batch: s.BatchID, Entries: len(s.IDs), Matching: s.Matching}
	if s.Chat.Validate() == nil {
		c := s.Chat
		a.Chat = &c
	}
	return a
}

// Names says a chat in words: its title, or whom a one-to-one chat is
// with; nil names every chat by its id.
type Names func(ledger.Chat) string

// ChatWords says a chat the way a person would: a group by its title
// ("运维值班群"), a one-to-one chat by the person in it ("the chat with
// 王经理"), and only when neither is known by its kind and id. info is
// what the ledger knows of the chat (its zero value when nothing).
func ChatWords(c ledger.Chat, info ledger.ChatInfo, locale string) string {
	en := locale == "en"
	switch {
	case c.Family == ledger.Group && info.Title != "" && en:
		return "the group " + info.Title
	case c.Family == ledger.Group && info.Title != "":
		return "群" + QuoteName(info.Title, locale)
	case c.Family != ledger.Group && info.With != "" && en:
		return "the chat with " + info.With
	case c.Family != ledger.Group && info.With != "":
		return "与" + info.With + "的单聊"
	case c.Family == ledger.Group && en:
		return "the group " + c.ConversationID
	case c.Family == ledger.Group:
		return "群 " + c.ConversationID
	case c.Family == ledger.OTO && en:
		return "the 1:1 chat with " + c.UserID
	case c.Family == ledger.OTO:
		return "与 " + c.UserID + " 的单聊"
	case en:
		return "the person-to-person chat " + c.ConversationID
	}
	return "单聊 " + c.ConversationID
}

// DescribeAbout says what a. record is about in locale ("en", or Chinese
// otherwise); names, when set, names its chat.
func DescribeAbout(a ledger.AuditAbout, locale string, names Names) string {
	d := describeAbout(a, locale, names)
	switch {
	case a.Matching == "":
		return d
	case locale == "en":
		return fmt.Sprintf("%s matching %q", d, a.Matching)
	}
	return d + "，包含" + QuoteName(a.Matching, locale)
}

func describeAbout(a ledger.AuditAbout, locale string, names Names) string {
	en := locale == "en"
	chat := ""
	if a.Chat != nil {
		chat = ChatWords(*a.Chat, ledger.ChatInfo{}, locale)
		if names != nil {
			chat = names(*a.Chat)
		}
	}
	switch {
	case a.Count > 0 && !a.Since.IsZero() && en: // a minute's refusals, counted
		return fmt.Sprintf("%d more in the minute from %s", a.Count, a.Since.Local().Format("15:04"))
	case a.Count > 0 && !a.Since.IsZero():
		return fmt.Sprintf("%s 起一分钟内另有 %d 次", a.Since.Local().Format("15:04"), a.Count)
	case a.Keys > 0 && en:
		return plural(a.Keys, "message by key", "messages by key")
	case a.Keys > 0:
		return fmt.Sprintf("%d 条指定消息", a.Keys)
	case a.Last > 0 && en:
		return fmt.Sprintf("the last %d in %s", a.Last, chat)
	case a.Last > 0:
		return fmt.Sprintf("%s最近 %d 条", spaced(chat), a.Last)
	case !a.Since.IsZero() && en:
		return fmt.Sprintf("since %s in %s", a.Since.Local().Format("2006-01-02 15:04"), chat)
	case !a.Since.IsZero():
		return fmt.Sprintf("%s %s 以来", chat, a.Since.Local().Format("2006-01-02 15:04"))
	case a.Batch != "" && en:
		return "batch " + a.Batch
	case a.Batch != "":
		return "批次 " + a.Batch
	case a.Entries > 0 && en:
		return plural(a.Entries, "ledger entry", "ledger entries")
	case a.Entries > 0:
		return fmt.Sprintf("%d 条账本记录", a.Entries)
	case a.Count > 0 && en:
		return plural(a.Count, "pending send", "pending sends")
	case a.Count > 0:
		return fmt.Sprintf("%d 条结果待定的发送", a.Count)
	case a.Entry > 0 && en && chat != "":
		return fmt.Sprintf("entry %d in %s", a.Entry, chat)
	case a.Entry > 0 && chat != "":
		return fmt.Sprintf("%s的记录 %d", spaced(chat), a.Entry)
	case a.Entry > 0 && en:
		return fmt.Sprintf("entry %d", a.Entry)
	case a.Entry > 0:
		return fmt.Sprintf("记录 %d", a.Entry)
	case chat != "" && en:
		return "in " + chat
	case chat != "":
		return "在" + chat + "中"
	case en:
		return "nothing"
	}
	return "无"
}

// spaced is a chat's words followed by a space when they end in Latin
// letters or digits (an id: "单聊 cid…=="), which Chinese text set right
// after them would otherwise run into.
func spaced(chat string) string {
	if r, _ := utf8.DecodeLastRuneInString(chat); r < utf8.RuneSelf && r != 0 {
		return chat + " "
	}
	return chat
}

// latinApart is words set inside Chinese text, with a space on each side
// where they begin or end in Latin letters or digits ("由 ops（API）手动标记",
// "由 manager4220 手动标记"), and none where they are Chinese.
func latinApart(w string) string {
	if r, _ := utf8.DecodeRuneInString(w); r < utf8.RuneSelf && r != 0 {
		w = " " + w
	}
	return spaced(w)
}

// plural is n with the English noun that fits it.
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Plurals settles every "N noun(s)" in English text s: "1 recall
// call(s)" reads "1 recall call", "3 message(s)" reads "3 messages", "2
// person(s)" reads "2 people", so a
// template can carry one form and a person still reads the right one.
func Plurals(s string) string {
	return pluralMarks.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case strings.HasPrefix(m, "1 "):
			return strings.TrimSuffix(m, "(s)")
		case strings.HasSuffix(m, "person(s)"): // the one irregular noun the bot counts
			return strings.TrimSuffix(m, "person(s)") + "people"
		}
		return strings.TrimSuffix(m, "(s)") + "s"
	})
}

// pluralMarks is a number, at most one word, and a noun marked "(s)".
var pluralMarks = regexp.MustCompile(`\b\d+ (?:[A-Za-z-]+ )?[A-Za-z]+\(s\)`)

// Plural is n with the English noun that fits it ("1 query call", "2
// query calls"), for the bot's and the CLI's English text.
func Plural(n int, one, many string) string { return plural(n, one, many) }

// actionWords are the audit trail's actions in words, Chinese first.
var actionWords = map[string][2]string{
	"recall":                {"撤回", "recall"},
	"dry_run":               {"预览", "preview"},
	"denied":                {"拒绝", "refused"},
	"resume":                {"续撤回", "recall resumed"},
	"broadcast.cancel":      {"取消群发", "broadcast cancelled"},
	"auto_block":            {"自动拦截", "blocked before sending"},
	"auto_recall":           {"自动撤回", "automatic recall"},
	"autorecall.resume":     {"恢复自动撤回", "automatic recall resumed"},
	"supersede":             {"更正后撤回原消息", "superseded"},
	"retract":               {"撤销", "retracted"},
	"self_destruct":         {"到期撤回", "self-destruct"},
	"resolve":               {"处理结果待定的发送", "pending send resolved"},
	"close_pending":         {"关闭结果待定的发送", "pending sends closed"},
	"alert.silence":         {"静默告警", "alert silenced"},
	"alert.ack":             {"认领告警", "alert acknowledged"},
	"alert.unsilence":       {"取消静默", "silence ended"},
	"malformed_frame":       {"无法解析的消息", "unreadable frame"},
	"command.over_budget":   {"超过命令限额", "over the command budget"},
	"http.unauthorized":     {"未授权请求", "unauthorized request"},
	"console.login":         {"控制台登录", "console login"},
	"console.logout":        {"控制台退出", "console logout"},
	"console.login_limited": {"控制台登录受限", "console logins limited"},
}

// ActionWords is an audit record's action in words; an action it does
// not know is shown as it is written.
func ActionWords(action, locale string) string {
	w, ok := actionWords[action]
	switch {
	case !ok:
		return action
	case locale == "en":
		return w[1]
	}
	return w[0]
}

// whyWords are the reasons audit records keep as codes, Chinese first.
var whyWords = map[string][2]string{
	"not_admin":              {"不是管理员", "not an admin"},
	"confirm_foreign":        {"确认码属于另一位管理员", "the code belongs to another admin"},
	"breaker_open":           {"自动撤回已暂停（熔断）", "automatic recalls paused (breaker open)"},
	"expired_pending":        {"超过撤回时限仍未确认，已关闭为结果未知", "still in doubt past the recall window: closed as unknown"},
	"stopped_by_recall":      {"因撤回该批次而停止", "stopped by a recall of the batch"},
	"interrupted":            {"接续一次因机器人停止而中断的撤回", "recalls interrupted by a stopped bot"},
	"over_budget":            {"已丢弃、未执行，此人本分钟内的后续命令只计数", "dropped, not run; the sender's further ones this minute are only counted"},
	"replaced":               {"已被更正消息取代", "replaced by a correction"},
	"expired":                {"到达 expires_in 设定的时间", "expires_in reached"},
	"resumed":                {"接续：执行它的实例已停止", "resumed: the instance running it stopped"},
	"alert_superseded":       {"告警组的消息已被取代或已解决", "alert group superseded or resolved"},
	"no_token":               {"请求未带 Authorization 头", "no Authorization header"},
	"wrong_token":            {"令牌错误", "wrong token"},
	"cross_site_login":       {"来自其他网站的登录", "login from another site"},
	"too_many_failed_logins": {"登录失败次数过多", "too many failed logins"},
	"logins_limited_overall": {"一分钟内所有地址合计登录失败过多：在限额恢复前拒绝所有登录（429，不比对令牌），本分钟内之后的拒绝只计数；第一个被拒绝的地址", "too many failed logins in a minute from all addresses together: every login is refused (429, its token not compared) until the budget refills, and this minute's further refusals are only counted; the first address refused"},
	"over_crowd_budget":      {"所有非管理员共用的限额已用完：已丢弃、未执行，此人本分钟内的后续命令只计数", "the budget everyone who is not an admin shares is spent: dropped, not run; the sender's further ones this minute are only counted"},
}

// AuditWords are an audit record's scope and note in locale: rendered
// from its facts (About, Why), or, for a record written before them, its
// Scope and Note as they were written. names, when set, names chats.
func AuditWords(r ledger.AuditRecord, locale string, names Names) (scope, note string) {
	scope, note = r.Scope, r.Note
	var clauses []string
	if w, ok := whyWords[r.Why]; ok {
		why := w[0]
		if locale == "en" {
			why = w[1]
		}
		clauses = append(clauses, why)
	}
	if w, ok := cancelWords(note, locale); ok {
		note = w
	}
	if rest, w, ok := stopWords(note, locale); ok {
		note = strings.TrimPrefix(rest+w, sep(locale))
	}
	if strings.HasPrefix(r.Actor, "rule:") { // a rule's finding, as the detector stated it
		note = FindingIn(note, locale)
	}
	note = alertNote(note, r.Action, locale)
	if r.Why == "wrong_token" { // a console login's note is the name typed
		note = typedName(note, locale)
	}
	if note != "" {
		clauses = append(clauses, note)
	}
	switch a := r.About; {
	case a != nil && a.Sender != "" && locale == "en":
		clauses = append(clauses, "sent by "+ActorWords(a.Sender, locale))
	case a != nil && a.Sender != "":
		clauses = append(clauses, "发送者："+ActorWords(a.Sender, locale))
	}
	alert := ""
	if r.About != nil {
		alert = r.About.Alert
	}
	if w, ok := factScope(r, locale); ok {
		return w, strings.Join(clauses, sep(locale))
	}
	if w, ok := alertScope(alert, scope, r.Action, locale); ok { // what was asked of an alert, where
		scope = w
		if a := r.About; a != nil && a.Chat != nil {
			clauses = append(clauses, DescribeAbout(ledger.AuditAbout{Chat: a.Chat}, locale, names))
		}
		return scope, strings.Join(clauses, sep(locale))
	}
	if a := r.About; a != nil {
		selects := a.Keys > 0 || a.Last > 0 || !a.Since.IsZero() || a.Batch != "" || a.Entries > 0 || a.Entry > 0
		switch {
		case selects || scope == "":
			scope = DescribeAbout(*a, locale, names)
		case a.Chat != nil: // the scope is what someone typed; the chat is where
			clauses = append(clauses, DescribeAbout(ledger.AuditAbout{Chat: a.Chat}, locale, names))
		}
	}
	return scope, strings.Join(clauses, sep(locale))
}

// sep joins two clauses: "; " in English, "；" in Chinese.
func sep(locale string) string {
	if locale == "en" {
		return "; "
	}
	return "；"
}
