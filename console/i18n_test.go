package console

import (
	"context"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestConsoleWordsReadLikeAPerson: every label of the console, filled in,
// has ASCII punctuation in English, plurals that agree with their number,
// no stray space before 内 in Chinese and no line ending in a space; the
// audit trail's actions and a message's markdown are shown in words.
func TestConsoleWordsReadLikeAPerson(t *testing.T) {
	for key, w := range texts {
		for i, loc := range []string{"zh", "en"} {
			s := w[i]
			if n := strings.Count(s, "%d") + strings.Count(s, "%s"); n > 0 {
				args := make([]any, 0, n)
				for _, verb := range strings.SplitAfter(s, "%")[1:] {
					switch {
					case strings.HasPrefix(verb, "d"):
						args = append(args, 1)
					case strings.HasPrefix(verb, "s"):
						args = append(args, "x")
					}
				}
				s = say(loc, key, args...)
			}
			if j := strings.IndexAny(s, "（）［］【】：；，。！？、"); loc == "en" && j >= 0 {
				t.Errorf("%s (en) has full-width punctuation at %q", key, s[j:])
			}
			if strings.Contains(s, "(s)") && loc == "en" && !strings.Contains(s, "{") {
				t.Errorf("%s (en) leaves a plural to the reader: %q", key, s)
			}
			prefix := strings.HasSuffix(s, ": ") // a label the page's names follow
			if strings.Contains(s, " 内") || strings.TrimRight(s, " ") != s && !prefix {
				t.Errorf("%s (%s): a stray or trailing space: %q", key, loc, s)
			}
		}
	}
	if got := say("en", "preview.scope", "batch b-1", 1); got != "Scope: batch b-1 · 1 recall call" {
		t.Errorf("preview.scope = %q", got)
	}
	f := funcs("zh")
	if got := f["action"].(func(string) string)("dry_run"); got != "预览" {
		t.Errorf("action dry_run in Chinese = %q", got)
	}
	if got := f["plain"].(func(string) string)("**recallbot 帮助**\n\n- `/sent [N]`"); got != "recallbot 帮助 · /sent [N]" {
		t.Errorf("plain = %q", got)
	}
}

// TestConsoleShowsFactsInItsLanguage: the audit page puts each record's
// facts in the console's words (a record a Chinese bot wrote reads in
// English here), names chats by the title DingTalk gave them, and lists a
// markdown message as the plain text a person reads.
func TestConsoleShowsFactsInItsLanguage(t *testing.T) {
	f := newFixture(t, "en")
	ctx := context.Background()
	if err := f.led.PutChatInfo(ctx, ledger.ChatInfo{Chat: groupChat, Title: "运维值班群"}); err != nil {
		t.Fatal(err)
	}
	g := groupChat
	for _, r := range []ledger.AuditRecord{
		{Actor: "api:ops", Action: "broadcast.cancel", Allowed: true, About: &ledger.AuditAbout{Batch: "b-wrong-1"}, Why: "stopped_by_recall"},
		{Actor: "manager4220", Action: "dry_run", Allowed: true, About: &ledger.AuditAbout{Last: 5, Chat: &g}},
	} {
		if _, err := f.led.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	f.send(groupChat, "**recallbot help**\n\n- `/sent [N]` the bot's messages", recall.SendOptions{})
	b := f.browser()
	b.login("alice")
	page := b.get("/ui/audit").body
	for _, want := range []string{"broadcast cancelled", "batch b-wrong-1", "stopped by a recall of the batch", "preview", "the last 5 in the group 运维值班群"} {
		if !strings.Contains(page, want) {
			t.Errorf("the audit page lacks %q", want)
		}
	}
	for _, not := range []string{">dry_run", ">broadcast.cancel", "批次", "group:cidGroup"} {
		if strings.Contains(page, not) {
			t.Errorf("the audit page shows %q:\n%s", not, page)
		}
	}
	page = b.get("/ui/").body
	if !strings.Contains(page, "recallbot help - /sent [N] the bot") || strings.Contains(page, "**recallbot") || !strings.Contains(page, "the group 运维值班群") {
		t.Errorf("the messages page:\n%s", page)
	}
}
