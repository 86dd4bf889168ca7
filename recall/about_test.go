package recall

import (
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// fullWidth is the punctuation of Chinese text that English text must not
// carry: brackets, colons, commas, stops.
const fullWidth = "（）［］【】「」：；，。！？、＜＞"

// checkEnglish fails for English text with full-width punctuation or a
// line that ends in a space.
func checkEnglish(t *testing.T, where, s string) {
	t.Helper()
	if i := strings.IndexAny(s, fullWidth); i >= 0 {
		t.Errorf("%s: English text has full-width punctuation at %q: %q", where, s[i:], s)
	}
	checkLines(t, where, s)
}

// checkLines fails for a line that ends in a space.
func checkLines(t *testing.T, where, s string) {
	t.Helper()
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimRight(l, " \t") != l {
			t.Errorf("%s: a line ends with a space: %q", where, l)
		}
	}
}

// TestAuditRecordsInTheReadersLanguage: a record keeps facts and is put in
// words when read, in the reader's language, its chat by name; a record
// older than the facts is shown as it was written.
func TestAuditRecordsInTheReadersLanguage(t *testing.T) {
	group := ledger.Chat{Family: ledger.Group, ConversationID: "cidOpsGroup=="}
	oto := ledger.Chat{Family: ledger.OTO, UserID: "manager4220"}
	since := time.Date(2026, 11, 29, 15, 0, 0, 0, time.Local)
	titles := func(c ledger.Chat) string {
		return ChatWords(c, map[string]ledger.ChatInfo{group.Key(): {Title: "运维值班群"}, oto.Key(): {With: "王经理"}}[c.Key()], "en")
	}
	for _, tc := range []struct {
		name      string
		rec       ledger.AuditRecord
		names     Names
		zh, en    string // scope
		zhN, enN  string // note
		enNamedBy string // the scope in English with the chats' names
	}{
		{name: "last N", rec: ledger.AuditRecord{About: &ledger.AuditAbout{Last: 5, Chat: &group}},
			zh: "群 cidOpsGroup== 最近 5 条", en: "the last 5 in the group cidOpsGroup==", enNamedBy: "the last 5 in the group 运维值班群"},
		{name: "batch", rec: ledger.AuditRecord{About: &ledger.AuditAbout{Batch: "b-wrong-1"}},
			zh: "批次 b-wrong-1", en: "batch b-wrong-1", enNamedBy: "batch b-wrong-1"},
		{name: "one key", rec: ledger.AuditRecord{About: &ledger.AuditAbout{Keys: 1}},
			zh: "1 条指定消息", en: "1 message by key", enNamedBy: "1 message by key"},
		{name: "since, matching", rec: ledger.AuditRecord{About: &ledger.AuditAbout{Since: since, Chat: &oto, Matching: "db-7"}},
			zh: "与 manager4220 的单聊 2026-11-29 15:00 以来，包含「db-7」", en: `since 2026-11-29 15:00 in the 1:1 chat with manager4220 matching "db-7"`,
			enNamedBy: `since 2026-11-29 15:00 in the chat with 王经理 matching "db-7"`},
		{name: "refused, where and why", rec: ledger.AuditRecord{Scope: "/recall last 5", Why: "not_admin", About: &ledger.AuditAbout{Chat: &group}},
			zh: "/recall last 5", en: "/recall last 5", zhN: "不是管理员；在群 cidOpsGroup==中", enN: "not an admin; in the group cidOpsGroup==", enNamedBy: "/recall last 5"},
		{name: "a cancel's counts", rec: ledger.AuditRecord{About: &ledger.AuditAbout{Batch: "b-1"}, Why: "stopped_by_recall", Note: "counts:880/1000/3/117/20/1/0"},
			zh: "批次 b-1", en: "batch b-1", zhN: "因撤回该批次而停止；已送达 880 / 1000 人，失败 3，取消 117；另有 20 人在 1 次已发出的调用中，待钉钉应答后计入",
			enN: "stopped by a recall of the batch; 880 of 1000 recipients reached, 3 refused, 117 not sent (cancelled); 20 more in 1 call already on the wire, counted when DingTalk answers", enNamedBy: "batch b-1"},
		{name: "pending sends closed", rec: ledger.AuditRecord{About: &ledger.AuditAbout{Count: 2}, Why: "expired_pending"},
			zh: "2 条结果待定的发送", en: "2 pending sends", zhN: "超过撤回时限仍未确认，已关闭为结果未知", enN: "still in doubt past the recall window: closed as unknown", enNamedBy: "2 pending sends"},
		{name: "a minute's refusals, counted", rec: ledger.AuditRecord{About: &ledger.AuditAbout{Count: 12, Since: since}, Note: "intern001: 12"},
			zh: "15:00 起一分钟内另有 12 次", en: "12 more in the minute from 15:00", zhN: "intern001: 12", enN: "intern001: 12", enNamedBy: "12 more in the minute from 15:00"},
		{name: "an old record, in the words of its time", rec: ledger.AuditRecord{Scope: "批次 b-wrong-1", Note: "not an admin; in group:cidOpsGroup=="},
			zh: "批次 b-wrong-1", en: "批次 b-wrong-1", zhN: "not an admin; in group:cidOpsGroup==", enN: "not an admin; in group:cidOpsGroup==", enNamedBy: "批次 b-wrong-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, n := AuditWords(tc.rec, "zh", nil); s != tc.zh || n != tc.zhN {
				t.Errorf("AuditWords(zh) = %q, %q; want %q, %q", s, n, tc.zh, tc.zhN)
			}
			s, n := AuditWords(tc.rec, "en", nil)
			if s != tc.en || n != tc.enN {
				t.Errorf("AuditWords(en) = %q, %q; want %q, %q", s, n, tc.en, tc.enN)
			}
			if tc.rec.About != nil { // words of our own, not a record's old ones
				checkEnglish(t, "scope", s)
				checkEnglish(t, "note", n)
			}
			if s, _ := AuditWords(tc.rec, "en", titles); s != tc.enNamedBy {
				t.Errorf("AuditWords(en, with the chats' names) = %q, want %q", s, tc.enNamedBy)
			}
		})
	}
}

// TestWordsPerLocale: actions, chats, plurals and plain text, in Chinese
// and English.
func TestWordsPerLocale(t *testing.T) {
	group := ledger.Chat{Family: ledger.Group, ConversationID: "cidOpsGroup=="}
	for _, tc := range []struct{ got, want string }{
		{ActionWords("dry_run", "zh"), "预览"},
		{ActionWords("dry_run", "en"), "preview"},
		{ActionWords("broadcast.cancel", "zh"), "取消群发"},
		{ActionWords("auto_block", "en"), "blocked before sending"},
		{ActionWords("something.new", "en"), "something.new"},
		{ChatWords(group, ledger.ChatInfo{Title: "运维值班群"}, "zh"), "群「运维值班群」"},
		{ChatWords(group, ledger.ChatInfo{Title: "运维值班群"}, "en"), "the group 运维值班群"},
		{ChatWords(ledger.Chat{Family: ledger.Private, ConversationID: "cidP"}, ledger.ChatInfo{With: "王经理"}, "zh"), "与王经理的单聊"},
		{ChatWords(ledger.Chat{Family: ledger.Private, ConversationID: "cidP"}, ledger.ChatInfo{With: "王经理"}, "en"), "the chat with 王经理"},
		{Plurals("1 query call(s), 2 query call(s), 1 of 3 call(s), 1 message(s)"), "1 query call, 2 query calls, 1 of 3 calls, 1 message"},
		{PlainText("**recallbot 帮助**\n\n- `/sent [N]` 查看本会话"), "recallbot 帮助 · /sent [N] 查看本会话"},
		{PlainText("**recallbot 帮助** - `/sent [N]` 查看…"), "recallbot 帮助 - /sent [N] 查看…"},
		{PlainText("## Release\nsee [the notes](https://example.com/n) __now__"), "Release · see the notes now"},
		{HumanDuration(2*time.Minute, "zh"), "2 分钟"},
		{HumanDuration(time.Minute, "en"), "1 minute"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestEveryActionHasWords: each action the bot writes in its audit
// trails is shown in words, not as its code.
func TestEveryActionHasWords(t *testing.T) {
	for _, a := range []string{"alert.ack", "alert.silence", "alert.unsilence", "auto_block", "auto_recall", "autorecall.resume",
		"broadcast.cancel", "close_pending", "command.over_budget", "console.login", "console.login_limited", "console.logout",
		"denied", "dry_run", "http.unauthorized", "malformed_frame", "recall", "resolve", "resume", "retract", "self_destruct", "supersede"} {
		if zh, en := ActionWords(a, "zh"), ActionWords(a, "en"); zh == a || strings.ContainsAny(en, "._") {
			t.Errorf("action %s reads %q, %q", a, zh, en)
		}
	}
}

// TestEnglishWordsUseASCIIPunctuation: every English word the recall
// package puts in a receipt or an audit record is free of full-width
// punctuation and trailing spaces.
func TestEnglishWordsUseASCIIPunctuation(t *testing.T) {
	for o, w := range outcomeWords {
		checkEnglish(t, "outcome "+string(o), w[1])
		checkLines(t, "outcome "+string(o), w[0])
	}
	for a, w := range actionWords {
		checkEnglish(t, "action "+a, w[1])
	}
	for y, w := range whyWords {
		checkEnglish(t, "why "+y, w[1])
	}
	r := &Receipt{DryRun: true, Items: []Item{{Outcome: WouldRecall, Reads: &Reads{Read: 1, Recipients: 3}}, {Outcome: TooOld}}, Broadcast: &BroadcastStop{Stopped: true, NotSent: 3, Unanswered: 1}}
	checkEnglish(t, "summary", r.Summary("en"))
	checkEnglish(t, "reads", Reads{Err: "too early"}.Words("en"))
}

// TestReceiptSaysWhoHadReadIt: a receipt that knows read status says it:
// "1 had read it" for one message, reads counted for several.
func TestReceiptSaysWhoHadReadIt(t *testing.T) {
	one := &Receipt{Items: []Item{{Outcome: Recalled, Reads: &Reads{Read: 1, Recipients: 3}}}}
	if s := one.Summary("en"); s != "1 recalled · 1 had read it before the recall" {
		t.Errorf("one message: %q", s)
	}
	if s := one.Summary("zh"); s != "1 条已撤回 · 撤回前 1 人已读" {
		t.Errorf("one message (zh): %q", s)
	}
	two := &Receipt{Items: []Item{{Outcome: Recalled, Reads: &Reads{Read: 2}}, {Outcome: Recalled, Reads: &Reads{Read: 1}}}}
	if s := two.Summary("en"); s != "2 recalled · 3 reads before the recall" {
		t.Errorf("two messages: %q", s)
	}
}

// TestAccessRefusalsInTheReadersLanguage: the access trail's refusals,
// and the reasons the bot's own recalls give (a correction, an expiry, a
// resume, an alert group's supersession), keep their reason as a code and
// a fact (an address, the name typed, an entry, a group's ID) and read in
// the reader's language.
func TestAccessRefusalsInTheReadersLanguage(t *testing.T) {
	for _, tc := range []struct {
		rec    ledger.AuditRecord
		zh, en string
	}{
		{ledger.AuditRecord{Why: "no_token"}, "请求未带 Authorization 头", "no Authorization header"},
		{ledger.AuditRecord{Why: "wrong_token", Note: `"mallory"`}, "令牌错误；登录时输入的名字「mallory」", `wrong token; the name typed at login: "mallory"`},
		{ledger.AuditRecord{Why: "too_many_failed_logins"}, "登录失败次数过多", "too many failed logins"},
		{ledger.AuditRecord{Note: "127.0.0.1"}, "127.0.0.1", "127.0.0.1"},
		{ledger.AuditRecord{Why: "replaced", Note: "#7"}, "已被更正消息取代；#7", "replaced by a correction; #7"},
		{ledger.AuditRecord{Why: "expired"}, "到达 expires_in 设定的时间", "expires_in reached"},
		{ledger.AuditRecord{Why: "resumed"}, "接续：执行它的实例已停止", "resumed: the instance running it stopped"},
		{ledger.AuditRecord{Why: "alert_superseded", Note: "a1b2"}, "告警组的消息已被取代或已解决；a1b2", "alert group superseded or resolved; a1b2"},
	} {
		if _, got := AuditWords(tc.rec, "zh", nil); got != tc.zh {
			t.Errorf("zh: %q, want %q", got, tc.zh)
		}
		if _, got := AuditWords(tc.rec, "en", nil); got != tc.en {
			t.Errorf("en: %q, want %q", got, tc.en)
		}
	}
}

// TestFactScopesInTheReadersLanguage: a resume of the automatic recalls
// and an unreadable frame keep facts (no scope; the frame's id), and read
// "熔断器" / "消息帧 ID" in Chinese; older records that kept English words
// read the same.
func TestFactScopesInTheReadersLanguage(t *testing.T) {
	for _, tc := range []struct {
		rec    ledger.AuditRecord
		zh, en string
	}{
		{ledger.AuditRecord{Action: "autorecall.resume"}, "熔断器", "circuit breaker"},
		{ledger.AuditRecord{Action: "autorecall.resume", Scope: "circuit breaker"}, "熔断器", "circuit breaker"},
		{ledger.AuditRecord{Action: "malformed_frame", About: &ledger.AuditAbout{Frame: "msg-1"}}, "消息帧 msg-1", "frame msg-1"},
		{ledger.AuditRecord{Action: "malformed_frame", Scope: "frame msg-1"}, "消息帧 msg-1", "frame msg-1"},
	} {
		if got, _ := AuditWords(tc.rec, "zh", nil); got != tc.zh {
			t.Errorf("zh: %q, want %q", got, tc.zh)
		}
		if got, _ := AuditWords(tc.rec, "en", nil); got != tc.en {
			t.Errorf("en: %q, want %q", got, tc.en)
		}
	}
}
