package handlers

import (
	"context"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// noteChat records what DingTalk says of the chat a command came from: a
// group's title, or the nick of the person in a one-to-one chat, so that
// replies, the console and the CLI name the chat as people know it
// instead of by its key. It writes only when that changed (one read per
// command, one write per new title); a failure costs the name, never the
// command.
func (b *Bot) noteChat(ctx context.Context, req *request) {
	info := ledger.ChatInfo{Chat: req.chat, Updated: b.cfg.Now()}
	if req.chat.Family == ledger.Group {
		info.Title = req.msg.ConversationTitle
	} else {
		info.With = req.msg.SenderNick
	}
	if info.Title == "" && info.With == "" || info.With == req.msg.SenderStaffID {
		return // nothing said, or only the id again
	}
	known, err := b.led.ChatInfos(ctx, []ledger.Chat{req.chat})
	if err != nil {
		return // the ledger's trouble is the command's to report
	}
	if k := known[req.chat.Key()]; k.Title == info.Title && k.With == info.With {
		return
	}
	if err := b.led.PutChatInfo(ctx, info); err != nil {
		req.log.Warn("chat name not recorded", zap.Error(err))
	}
}

// chatNames names chats for a reply in the chat here: this chat is "this
// group" or "this chat", others by what DingTalk said of them, else by
// their ids.
func (b *Bot) chatNames(ctx context.Context, here ledger.Chat, chats []ledger.Chat) recall.Names {
	infos, _ := b.led.ChatInfos(ctx, chats) // nothing known: ids
	loc := b.cfg.Locale
	return func(c ledger.Chat) string {
		if c.Key() == here.Key() {
			return say(loc, "chat.this."+string(map[bool]string{true: "group", false: "chat"}[c.Family == ledger.Group]))
		}
		return recall.ChatWords(c, infos[c.Key()], loc)
	}
}

// describe says what a selection is about for a reply in the chat here.
func (b *Bot) describe(ctx context.Context, req *request, a *ledger.AuditAbout) string {
	var chats []ledger.Chat
	if a.Chat != nil {
		chats = append(chats, *a.Chat)
	}
	return recall.DescribeAbout(*a, b.cfg.Locale, b.chatNames(ctx, req.chat, chats))
}
