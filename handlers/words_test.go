package handlers

import (
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestOthersCountsThePeopleBeyondTheTarget: a broadcast message sent to
// two people, recalled "to" one of them from a group, is taken back from
// one other person, not two; the warning's words agree with both numbers
// in each language.
func TestOthersCountsThePeopleBeyondTheTarget(t *testing.T) {
	group := ledger.Chat{Family: ledger.Group, ConversationID: "cidOps"}
	intern := ledger.Chat{Family: ledger.OTO, UserID: "intern001"}
	packed := recall.Item{Outcome: recall.WouldRecall, Entry: ledger.Entry{Chat: intern, Recipients: []string{"manager4220", "intern001"}}}
	plan := &recall.Receipt{Items: []recall.Item{packed}}
	if n, people := othersReached(plan, intern, group); n != 1 || people != 1 {
		t.Errorf("othersReached(to intern001, typed in a group) = %d, %d; want 1, 1", n, people)
	}
	if n, people := othersReached(plan, ledger.Chat{}, group); n != 1 || people != 2 {
		t.Errorf("othersReached(typed in a group, no target) = %d, %d; want 1, 2", n, people)
	}
	for _, tc := range []struct {
		loc              string
		messages, people int
		want             string
	}{
		{"zh", 1, 1, "其中 1 条消息是群发中一次发给多人的：撤回时会同时从另外 1 人那里撤回。"},
		{"en", 1, 1, "1 of these messages went to several people at once: recalling it takes it back from 1 other person too."},
		{"en", 2, 3, "2 of these messages went to several people at once: recalling them takes them back from 3 other people too."},
	} {
		if got := othersText(tc.loc, tc.messages, tc.people); !strings.Contains(got, tc.want) {
			t.Errorf("othersText(%s, %d, %d) = %q, want %q", tc.loc, tc.messages, tc.people, got, tc.want)
		}
	}
}

// TestUsageErrorsKeepASCIIParentheses: an English usage error quoted in
// a reply keeps its ASCII parentheses (escaping made them full-width),
// while what a user typed still cannot become a link or an image.
func TestUsageErrorsKeepASCIIParentheses(t *testing.T) {
	b := &Bot{cfg: Config{Redact: func(s string) string { return s }}}
	_, err := Parse("/recall last abc")
	ue, ok := err.(*UsageError)
	if !ok {
		t.Fatalf("Parse(/recall last abc) error = %v, want a usage error", err)
	}
	for _, tc := range []struct{ loc, want string }{
		{"en", `That did not work: "abc" is not a number of messages (1 or more). Send`},
		{"zh", `命令有误：「abc」不是有效的消息条数（至少 1）。发送`},
	} {
		if got := say(tc.loc, "unknown", b.usageText(ue.In(tc.loc))); !strings.Contains(got, tc.want) {
			t.Errorf("%s reply = %q, want %q", tc.loc, got, tc.want)
		}
	}
	if got := md("![x](http://evil.example/a.png) [y](https://e.example)"); strings.ContainsAny(got, "[]") || strings.Contains(got, "://") {
		t.Errorf("md of a typed link and image = %q: still markdown", got)
	}
}

// TestSlowDownHasNoStraySpace: the rate-limit reply reads "每 3 秒一条",
// with no space between the duration and the Chinese after it.
func TestSlowDownHasNoStraySpace(t *testing.T) {
	for _, tc := range []struct{ loc, want string }{
		{"zh", "（连续最多 3 条，之后每 3 秒一条）"},
		{"en", "(3 at once, then one every 3 seconds)"},
	} {
		got := say(tc.loc, "slow.down", 3, recall.HumanDuration(3*time.Second, tc.loc))
		if !strings.Contains(got, tc.want) {
			t.Errorf("slow.down (%s) = %q, want %q", tc.loc, got, tc.want)
		}
	}
}

// TestPendingHasItsOwnWord: the pending state reads 结果待定 in the chat,
// a word that is neither /confirm's 确认 nor the unknown state's 结果未知.
func TestPendingHasItsOwnWord(t *testing.T) {
	if got := stateWord("zh", "pending"); got != "结果待定" {
		t.Errorf("stateWord(zh, pending) = %q, want 结果待定", got)
	}
	status := say("zh", "status", "已连接", 5, 1, 0, 0)
	if !strings.Contains(status, "结果待定 1") || strings.Contains(status, "确认") {
		t.Errorf("status (zh) = %q, want 结果待定 1 and no 确认", status)
	}
	for st := range stateWords {
		if w := stateWord("zh", st); st != "pending" && strings.Contains(w, "待定") || st != "unknown" && strings.Contains(w, "结果未知") {
			t.Errorf("state %s reads %q, which another state's word holds", st, w)
		}
	}
}

// TestReadsHintQuotesTheWord: the hint names the word to add as a word,
// 加上「已读」, not 加上 已读.
func TestReadsHintQuotesTheWord(t *testing.T) {
	for _, tc := range []struct{ loc, want string }{
		{"zh", "想先看谁已读？在命令后加上「已读」（需 1 次查询，约 1 秒）。"},
		{"en", "Want to see who has read them first? Add `reads` to the command (1 query call, about 1 second)."},
	} {
		if got := say(tc.loc, "reads.hint", calls(tc.loc, "query", 1), recall.HumanDuration(time.Second, tc.loc)); !strings.Contains(got, tc.want) {
			t.Errorf("reads.hint (%s) = %q, want %q", tc.loc, got, tc.want)
		}
	}
}

// TestReadsHintAgreesWithTheCount: the English hint says "it" for one
// message and "them" for several; Chinese needs no pronoun.
func TestReadsHintAgreesWithTheCount(t *testing.T) {
	for _, tc := range []struct {
		loc   string
		would int
		want  string
	}{
		{"en", 1, "Want to see who has read it first? Add `reads` to the command (1 query call, about 1 second)."},
		{"en", 3, "Want to see who has read them first? Add `reads` to the command (3 query calls, about 1 second)."},
		{"zh", 1, "想先看谁已读？在命令后加上「已读」（需 1 次查询，约 1 秒）。"},
	} {
		if got := readsHint(tc.loc, tc.would, 20); !strings.Contains(got, tc.want) {
			t.Errorf("readsHint(%s, %d) = %q, want %q", tc.loc, tc.would, got, tc.want)
		}
	}
}

// TestCrossChatPreviewNamesTheChat: a preview of a recall typed in one
// chat that would take messages of another names that chat and says it
// is why the preview asks for a confirmation.
func TestCrossChatPreviewNamesTheChat(t *testing.T) {
	here := ledger.Chat{Family: ledger.Group, ConversationID: "cidOps"}
	priv := ledger.Chat{Family: ledger.Private, ConversationID: "cidSimPrivateChat=="}
	plan := &recall.Receipt{Items: []recall.Item{
		{Outcome: recall.WouldRecall, Entry: ledger.Entry{Chat: priv}},
		{Outcome: recall.WouldRecall, Entry: ledger.Entry{Chat: priv}},
		{Outcome: recall.WouldRecall, Entry: ledger.Entry{Chat: here}},
		{Outcome: recall.TooOld, Entry: ledger.Entry{Chat: ledger.Chat{Family: ledger.Group, ConversationID: "cidOld"}}},
	}}
	chats := elsewhere(plan, here)
	if len(chats) != 1 || chats[0] != priv {
		t.Fatalf("elsewhere = %v, want [%v]", chats, priv)
	}
	names := func(c ledger.Chat) string { return "the chat with 王经理" }
	zhNames := func(c ledger.Chat) string { return "与王经理的单聊" }
	for _, tc := range []struct {
		loc   string
		names recall.Names
		want  string
	}{
		{"zh", zhNames, "以上消息在与王经理的单聊，不在本会话：跨会话撤回需要确认。"},
		{"en", names, "These messages are in the chat with 王经理, not in this chat: a recall in another chat needs your confirmation."},
		{"zh", func(c ledger.Chat) string { return c.ConversationID }, "以上消息在 cidSimPrivateChat==，不在本会话"},
	} {
		if got := elsewhereText(tc.loc, tc.names, chats); !strings.Contains(got, tc.want) {
			t.Errorf("elsewhereText(%s) = %q, want %q", tc.loc, got, tc.want)
		}
	}
}
