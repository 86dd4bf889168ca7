package console

import (
	"fmt"

	"github.com/recallbot/recallbot/recall"
)

// texts are the console's words, Chinese first, English second; the bot's
// locale picks one, as it does for the chat's replies. Placeholders in
// braces ({done}) are filled in by console.js; the rest are fmt verbs.
var texts = map[string][2]string{
	"brand.console":  {"控制台", "console"},
	"nav.messages":   {"消息", "Messages"},
	"nav.broadcasts": {"群发", "Broadcasts"},
	"nav.entries":    {"待处理", "Needs attention"},
	"nav.audit":      {"审计", "Audit"},
	"logout":         {"退出", "Log out"},
	"cancel":         {"取消", "Cancel"},
	"back.messages":  {"返回消息列表", "Back to the messages"},

	"status.stream.up":      {"Stream 已连接", "Stream connected"},
	"status.stream.down":    {"Stream 未连接", "Stream disconnected"},
	"status.ledger.ok":      {"账本正常", "Ledger OK"},
	"status.ledger.down":    {"账本不可用", "Ledger unavailable"},
	"status.breaker.open":   {"自动撤回已暂停（熔断）", "Auto-recall paused (breaker open)"},
	"status.breaker.closed": {"自动撤回运行中", "Auto-recall running"},
	"status.breaker.off":    {"自动撤回未启用", "Auto-recall off"},
	"status.resume":         {"恢复自动撤回", "Resume auto-recall"},

	"login.title":            {"登录", "Log in"},
	"login.hint":             {"使用机器人 HTTP API 的令牌（http.token）登录。你的名字会记入审计，显示为「名字（API）」。", "Log in with the bot's HTTP API token (http.token). Your name goes into the audit trail, shown as \"name (API)\"."},
	"login.token":            {"令牌", "Token"},
	"login.name":             {"你的名字", "Your name"},
	"login.name.placeholder": {"例如 wang.jing", "e.g. jing.wang"},
	"login.submit":           {"登录", "Log in"},
	"login.wrong":            {"令牌不正确。本次尝试已记录。", "That token is wrong. The attempt has been recorded."},
	"login.limited":          {"失败次数过多，请 %s 后再试。", "Too many failed logins: try again in %s."},
	"login.badname":          {"名字只能包含字母、数字和 . _ - @，最多 %d 个字符。", "A name holds letters, digits and . _ - @ only, at most %d characters."},

	"messages.title":         {"机器人发送的消息", "What the bot sent"},
	"messages.total":         {"账本共 %d 条", "%d in the ledger"},
	"f.chat":                 {"会话", "Chat"},
	"f.user":                 {"用户", "User"},
	"f.batch":                {"批次", "Batch"},
	"f.client":               {"发送方", "Client"},
	"f.state":                {"状态", "State"},
	"f.any":                  {"全部", "any"},
	"f.since":                {"起始", "Since"},
	"f.until":                {"截止", "Until"},
	"f.text":                 {"内容包含", "Text contains"},
	"f.apply":                {"筛选", "Filter"},
	"f.clear":                {"清除筛选", "Clear"},
	"messages.preview":       {"预览撤回所选消息", "Preview recall of the selected"},
	"messages.preview.batch": {"预览撤回整个批次 %s", "Preview recall of all of batch %s"},
	"messages.withread":      {"同时查询已读情况", "with read status"},
	"messages.selected":      {"已选 {n} 条", "{n} selected"},
	"messages.all":           {"全选本页", "Select the page"},
	"messages.nokey":         {"没有消息 ID（processQueryKey），无法撤回", "No processQueryKey: it cannot be recalled"},
	"messages.people":        {"%d 人", "%d person(s)"},
	"messages.sentto":        {"群发给 %d 人", "sent to %d person(s)"},
	"reach.group":            {"全群", "the whole group"},
	"operator.title":         {"登录时输入的名字：您在审计记录中的名字", "the name typed at login: yours in the audit trail"},
	"from.bot":               {"机器人", "the bot"},
	"from.answer":            {"机器人（回复 %s）", "the bot, in answer to %s"},
	"messages.none":          {"没有符合条件的消息。", "No messages match."},
	"messages.cut":           {"已查看 %d 条记录，更早的可能还有：", "Searched %d entries; there may be more further back:"},
	"messages.older":         {"更早 →", "Older →"},

	"col.sent":     {"发送时间", "Sent"},
	"col.chat":     {"会话", "Chat"},
	"col.text":     {"内容", "Text"},
	"col.by":       {"来自", "From"},
	"col.state":    {"状态", "State"},
	"col.window":   {"撤回时限", "Recall window"},
	"col.read":     {"已读", "Read"},
	"col.outcome":  {"结果", "Outcome"},
	"col.reach":    {"接收人", "Recipients"},
	"col.batch":    {"批次", "Batch"},
	"col.created":  {"创建时间", "Created"},
	"col.progress": {"进度", "Progress"},
	"col.calls":    {"调用次数", "Calls"},
	"col.target":   {"接收方", "Target"},
	"col.reason":   {"原因", "Reason"},
	"col.resolve":  {"处理", "Resolve"},
	"col.at":       {"时间", "At"},
	"col.actor":    {"操作人", "Actor"},
	"col.action":   {"操作", "Action"},
	"col.scope":    {"范围", "Scope"},
	"col.result":   {"结果", "Result"},
	"col.note":     {"备注", "Note"},

	"left":             {"剩余 %s", "%s left"},
	"too.old":          {"已超过撤回时限", "past the recall window"},
	"read.button":      {"已读情况", "Read status"},
	"read.loading":     {"查询中…", "asking DingTalk…"},
	"read.fmt":         {"{read}/{recipients} 人已读", "{read} of {recipients} read"},
	"read.readers":     {"已读：", "Read by: "},
	"read.count":       {"%d/%d 人已读", "%d of %d read"},
	"read.unavailable": {"此版本机器人的 API 还不提供已读情况（GET /v1/messages/{key}?read_status=1）", "this bot's API does not report read status yet (GET /v1/messages/{key}?read_status=1)"},

	"preview.title":            {"撤回预览", "Recall preview"},
	"preview.nothing.recalled": {"这只是预览：还没有撤回任何消息。", "This is a preview: nothing has been recalled."},
	"status.version":           {"recallbot 的版本", "recallbot version"},
	"preview.scope":            {"范围：%s · 需 %d 次撤回接口调用", "Scope: %s · %d recall call(s)"},
	"receipt.scope":            {"范围：%s · 用了 %d 次撤回接口调用", "Scope: %s · %d recall call(s) made"},
	"preview.reach":            {"将撤回 %d 条消息，涉及 %d 个会话，共 %d 人。", "%d message(s) would be recalled, in %d chat(s), reaching %d person(s)."},
	"preview.reach.groups":     {"将撤回 %d 条消息，在 %d 个群中（群里的每个人都将看不到它们）。", "%d message(s) would be recalled, in %d group(s) (from everyone in them)."},
	"preview.reach.mixed":      {"将撤回 %d 条消息，涉及 %d 个会话：%d 个群，以及单聊中的 %d 人。", "%d message(s) would be recalled, in %d chat(s): %d group(s), and %d recipient(s) in chats of their own."},
	"preview.packed":           {"其中 %d 条消息是群发中一次发给多人的：撤回时会从全部 %d 位接收人那里撤回。", "%d of these went to several people at once (packed keys): recalling them takes them back from all %d of their recipients."},
	"preview.packed.here":      {"其中 %d 条消息是群发中一次发给多人的：撤回时会同时从另外 %d 人那里撤回。", "%d of these went to several people at once (packed keys): recalling them takes them back from %d other person(s) too."},
	"preview.readcost":         {"已向钉钉查询已读情况：%d 次查询调用。", "DingTalk was asked who has read them: %d query call(s)."},
	"preview.readcost.ask":     {"查询已读情况需要 %d 次查询调用（约 %s）：勾选「同时查询已读情况」后重新预览。", "Asking who has read them takes %d query call(s) (about %s): preview again with \"with read status\" ticked."},
	"preview.reads.again":      {"撤回前会再查询一次已读情况，记入撤回结果。", "Read status is asked again just before the recall, for the receipt."},
	"col.readbefore":           {"撤回前已读", "Read before the recall"},
	"read.fmt.count":           {"{read} 人已读", "{read} read"},
	"preview.nokey":            {"所选消息中有 %d 条没有消息 ID（发送结果未知或未发送），无法撤回：", "%d of the selected messages have no key (their send's outcome is unknown, or they were never sent): they cannot be recalled."},
	"preview.nokey.resolve":    {"处理发送结果未知的消息", "Resolve sends in doubt"},
	"preview.confirm.head":     {"这次撤回需要确认（聊天中同样需要 /confirm）：", "This recall needs a confirmation (chat would ask for /confirm):"},
	"preview.confirm.type":     {"请在 %s内输入确认码", "Type this code within %s:"},
	"preview.confirm.button":   {"确认撤回 %d 条消息", "Confirm: recall %d message(s)"},
	"preview.valid":            {"此预览 %s内有效。", "This preview can be carried out within %s."},
	"preview.button":           {"撤回这 %d 条消息", "Recall these %d message(s)"},
	"preview.hidden":           {"另有 %d 条未列出（已计入上方统计，并会一并撤回）。", "%d more are counted above and recalled with these, but not listed."},
	"preview.none":             {"没有可撤回的消息。", "Nothing here can be recalled."},
	"preview.already.batch":    {"批次 %s 已经撤回过了：它的 %d 条消息都已撤回，无需再撤回。", "Batch %s was recalled already: all %d of its messages are taken back; there is nothing left to recall."},
	"preview.already":          {"所选的 %d 条消息都已经撤回过了，无需再撤回。", "All %d of the selected messages were recalled already; there is nothing left to recall."},

	"confirm.many":        {"共 %d 条，超过 %d 条", "%d messages, more than %d"},
	"confirm.elsewhere":   {"其中 %d 条不在 %s 中", "%d of them are not in %s"},
	"confirm.chats":       {"涉及 %d 个会话", "they are in %d chats"},
	"confirm.packed":      {"%d 条是一次发给多人的群发消息，会从全部 %d 位接收人那里撤回", "%d went to several people at once and are taken back from all %d of their recipients"},
	"confirm.packed.here": {"%d 条是一次发给多人的群发消息，会同时从另外 %d 人那里撤回", "%d went to several people at once and are taken back from %d other person(s) too"},

	"recall.title":           {"撤回", "Recall"},
	"progress.fmt":           {"{done} / {requested} 条 · {calls} 次调用", "{done} of {requested} · {calls} call(s)"},
	"progress.fmt.static":    {"%d / %d 条 · %d 次调用", "%d of %d · %d call(s)"},
	"progress.noscript":      {"刷新页面查看进度。", "Reload the page to see the progress."},
	"recall.finished":        {"这次撤回已结束，不会再有进度：结果见下方的回执。", "This recall has finished: there is no more progress to see, and its receipt is below."},
	"recall.ended":           {"这次撤回已结束，不会再有进度。", "This recall has ended: there is no more progress to see."},
	"receipt.title":          {"撤回结果", "Receipt"},
	"receipt.audit":          {"审计记录 #%d", "audit record #%d"},
	"receipt.truncated":      {"另有 %d 条未列出（统计已包含）。", "%d more are counted but not listed."},
	"progress.broadcast.fmt": {"已送达 {sent} / {requested} 人 · 失败 {failed} · 待发 {pending} · {calls} 次调用", "{sent} of {requested} reached · {failed} refused · {pending} pending · {calls} call(s)"},

	"broadcast.title":           {"群发", "Broadcast"},
	"broadcasts.none":           {"还没有群发。", "No broadcasts yet."},
	"broadcasts.recalled":       {"已撤回", "recalled"},
	"broadcasts.recalled.part":  {"已撤回 %d/%d 条", "%d of %d recalled"},
	"broadcast.counts":          recall.BroadcastCountWords, // the CLI's words too
	"broadcast.detail":          {"已送达 %d / %d 人 · 失败 %d · 待发 %d · %d/%d 次调用 · 重试中 %d", "%d of %d reached · %d refused · %d pending · %d of %d call(s) · %d retrying"},
	"broadcast.cancelled":       {"已取消：%d 人不再发送（%s）", "Cancelled: %d person(s) will not be sent to (by %s)"},
	"broadcast.cancelled.short": recall.BroadcastCancelledWords,
	"broadcast.inflight":        {"%d 次调用（%d 人）已发出，等待钉钉应答", "%d call(s) for %d person(s) on the wire, counted when DingTalk answers"},
	"broadcast.messages":        {"查看其消息", "Its messages"},
	"broadcast.shown":           {"%d / %d 条消息仍在会话中", "%d of its %d message(s) still shown"},
	"broadcast.gone":            {"%d 条消息都已不在会话中", "none of its %d message(s) is shown any more"},
	"broadcast.preview":         {"预览撤回此批次", "Preview recall of this batch"},
	"broadcast.cancel":          {"取消未发送部分", "Cancel what is not sent"},
	"broadcast.refused":         {"钉钉拒收的 %d 位接收人", "The %d recipient(s) DingTalk refused"},

	"entries.hint.pending":       {"发送结果待定：消息可能已在会话中，但没有消息 ID。确认后请处理；超过撤回时限后会自动标记为未知。", "Sends whose outcome is unknown: the message may be in the chat without a key. Resolve them if you know; they close as unknown after the recall window."},
	"entries.hint.recalling":     {"正在撤回的消息；持续超过几分钟说明撤回中断，会被自动接管。", "Being recalled; if they stay more than a few minutes the recall was interrupted and is taken over automatically."},
	"entries.hint.recall_failed": {"钉钉拒绝撤回的消息，原因见右侧；可再次撤回。", "DingTalk refused to recall these, for the reason shown; they can be recalled again."},
	"entries.none":               {"没有。", "None."},
	"resolve.sent":               {"已发送（填写消息 ID）", "sent (give its key)"},
	"resolve.send_failed":        {"未发送", "never sent"},
	"resolve.unknown":            {"未知", "unknown"},
	"resolve.note":               {"备注", "note"},
	"resolve.button":             {"处理", "Resolve"},

	"audit.recalls":      {"撤回记录", "Recall trail"},
	"audit.access":       {"访问记录", "Access trail"},
	"audit.recalls.hint": {"谁在何时撤回或预览了什么（聊天中的 /audit 也显示这些）。", "Who recalled or previewed what, and when (chat's /audit shows the same)."},
	"audit.access.hint":  {"被拒绝的请求（错误令牌、登录失败，每分钟有上限）和控制台登录。", "Refused requests (wrong tokens, failed logins; bounded per minute) and console logins."},
	"audit.refused":      {"已拒绝", "refused"},
	"audit.refused.sep":  {"：", ": "},
	"audit.none":         {"还没有记录。", "No records yet."},

	"done.resolved":  {"已处理。", "Resolved."},
	"done.cancelled": {"已取消未发送的部分。", "Cancelled what was not sent yet."},
	"done.resumed":   {"自动撤回已恢复。", "Auto-recall resumed."},

	"err.title":        {"出错了", "That did not work"},
	"err.notfound":     {"没有这个页面或记录。", "There is no such page or record."},
	"err.session":      {"请先登录控制台。", "Log in to the console first."},
	"err.csrf":         {"请求缺少有效的 CSRF 令牌或来自其他网站，已拒绝。请刷新页面后重试。", "The request lacks this page's CSRF token or comes from another site: refused. Reload the page and try again."},
	"err.ledger":       {"账本暂时不可用，请稍后重试。", "The ledger is unavailable right now; try again in a minute."},
	"err.noselection":  {"没有选择消息。", "No messages were selected."},
	"err.plan":         {"此预览已过期或已执行，请重新预览。", "That preview has expired or was carried out already: preview again."},
	"err.code":         {"确认码不正确，没有撤回任何消息。", "The code does not match: nothing was recalled."},
	"err.code.dropped": {"确认码错误次数过多，此预览已作废，请重新预览。", "Too many wrong codes: this preview is void. Preview again."},
	"err.state":        {"只能查看结果待定、撤回中和撤回失败的记录。", "Only pending, recalling and recall_failed entries are listed."},

	"state.pending":       {"结果待定", "pending"},
	"state.sent":          {"已发送", "sent"},
	"state.send_failed":   {"发送失败", "send failed"},
	"state.unknown":       {"结果未知", "unknown"},
	"state.recalling":     {"撤回中", "recalling"},
	"state.recalled":      {"已撤回", "recalled"},
	"state.recall_failed": {"撤回失败", "recall failed"},
	"state.expired":       {"已过期", "expired"},
	"state.running":       {"进行中", "running"},
	"state.done":          {"已完成", "done"},
	"state.interrupted":   {"已中断", "interrupted"},
	"state.failed":        {"失败", "failed"},
	"state.cancelled":     {"已取消", "cancelled"},

	"outcome.recalled":         {"已撤回", "recalled"},
	"outcome.would_recall":     {"将撤回", "would be recalled"},
	"outcome.already_recalled": {"此前已撤回", "already recalled"},
	"outcome.too_old":          {"超过时限", "too old"},
	"outcome.failed":           {"失败", "failed"},
	"outcome.unknown":          {"无消息 ID", "no key"},
	"outcome.never_sent":       {"未发送", "never sent"},
	"outcome.in_progress":      {"另一撤回处理中", "being recalled elsewhere"},
	"outcome.not_attempted":    {"未执行", "not attempted"},
	"outcome.not_found":        {"不在账本中", "not in the ledger"},
}

// say formats a text in the locale ("en", or Chinese otherwise).
func say(locale, key string, args ...any) string {
	t, ok := texts[key]
	if !ok {
		return key
	}
	s := t[0]
	if locale == "en" {
		s = t[1]
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	if locale == "en" {
		s = recall.Plurals(s) // "1 call(s)" reads "1 call"
	}
	return s
}
