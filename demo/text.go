package demo

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// The demo prints to a terminal what DingTalk shows as rendered markdown,
// in words a person would use: no markup, no escaping meant for a
// markdown renderer, chats by their titles rather than the ledger's keys.

// plain renders a reply's markdown as a terminal should show it. The bold
// marks go. The bot escapes markdown's punctuation in what it quotes (a
// message's text) as full-width twins, so that DingTalk shows them
// instead of reading them as markup; a terminal reads no markup, so they
// come back as written. English never writes full-width punctuation, so
// all of them do; Chinese writes （）！～ itself, so those stay.
func (d *demo) plain(s string) string {
	s = strings.ReplaceAll(s, "**", "")
	if d.en() {
		return enUnescaper.Replace(s)
	}
	return zhUnescaper.Replace(s)
}

var (
	zhUnescaper = strings.NewReplacer("［", "[", "］", "]", "＜", "<", "＞", ">", "＊", "*", "＿", "_", "｀", "`", "＃", "#", "｜", "|", "＼", "\\")
	enUnescaper = strings.NewReplacer("［", "[", "］", "]", "＜", "<", "＞", ">", "＊", "*", "＿", "_", "｀", "`", "＃", "#", "｜", "|", "＼", "\\",
		"（", "(", "）", ")", "！", "!", "～", "~")
)

// terminalText reads a card's markdown as a terminal shows it: a code
// span loses its backquotes and a link shows its text and then its
// address, since nothing renders either.
func terminalText(s string) string {
	s = mdLink.ReplaceAllString(s, "$1 $2")
	return mdCode.ReplaceAllString(s, "$1")
}

var (
	mdLink = regexp.MustCompile(`\[([^\]\n]+)\]\((\S+?)\)`)
	mdCode = regexp.MustCompile("`([^`\n]+)`")
)

// chatKey matches the ledger's key of a chat (private:ID, group:ID,
// oto:USER) where a record's text holds one.
var chatKey = regexp.MustCompile(`\b(private|group|oto):([A-Za-z0-9+/=_.@-]+)`)

// chatName is a chat as a person names it: its title, or whose chat with
// the bot it is.
func (d *demo) chatName(family, id string) string {
	if family == "oto" {
		return d.pick(id+" 与机器人的单聊", "the bot's chat with "+id)
	}
	if c, ok := d.srv.Conversation(id); ok && c.Title != "" {
		return d.pick("会话「"+c.Title+"」", "the chat "+c.Title)
	}
	return d.pick("该会话", "this chat")
}

// words replaces every chat key in s by the chat's name.
func (d *demo) words(s string) string {
	return chatKey.ReplaceAllStringFunc(s, func(k string) string {
		m := chatKey.FindStringSubmatch(k)
		return d.chatName(m[1], m[2])
	})
}

// printAudit prints both audit trails, oldest first: the recalls, and the
// attempts that were refused (kept in the access trail, apart from the
// recalls, so that noise never buries them).
func (d *demo) printAudit(ctx context.Context) error {
	d.say("审计记录（允许与拒绝的尝试都在案）：", "The audit trail (allowed and refused attempts alike):")
	recs, err := d.app.Ledger.Audit(ctx, ledger.AuditQuery{Limit: 10})
	if err != nil {
		return err
	}
	refused, err := d.app.Ledger.Audit(ctx, ledger.AuditQuery{Limit: 10, Trail: ledger.TrailAccess})
	if err != nil {
		return err
	}
	recs = append(recs, refused...)
	slices.SortStableFunc(recs, func(a, b ledger.AuditRecord) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	names := func(c ledger.Chat) string { // by title, as the demo's emulator knows them
		if c.Family == ledger.OTO {
			return d.chatName(string(c.Family), c.UserID)
		}
		return d.chatName(string(c.Family), c.ConversationID)
	}
	loc := d.pick("zh", "en")
	for _, r := range recs {
		scope := r.Scope
		if r.About != nil && r.Allowed {
			scope, _ = recall.AuditWords(r, loc, names)
		}
		what := strings.ReplaceAll(d.words(scope), "」 ", "」") // no space after a Chinese bracket
		// A recall: what was asked, then what became of it, in the receipt's
		// words; a refusal: where, then what was typed.
		if r.Allowed {
			what = d.pick("撤回 · ", "recall · ") + what + d.pick("：", ": ") + recall.CountsIn(recall.CountOutcomes(r.Outcomes), loc)
		} else {
			where := ""
			if r.About != nil && r.About.Chat != nil {
				where = names(*r.About.Chat)
			} else if m := chatKey.FindStringSubmatch(r.Note); m != nil {
				where = d.chatName(m[1], m[2])
			}
			switch {
			case where == "":
				what = d.pick("已拒绝 · ", "refused · ") + what
			default:
				what = d.pick("已拒绝 · 在"+where+"输入 "+what, "refused · "+what+" in "+where)
			}
		}
		fmt.Fprintf(d.out, "  %s  %-12s %s\n", r.At.Local().Format("01-02 15:04"), r.Actor, what)
	}
	return nil
}

// indentLines indents every line that has text; empty lines stay empty.
func indentLines(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
