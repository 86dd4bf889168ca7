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
// instead of by its key; and the sender's nick for the bot's own chat with
// them (oToMessages), which no callback comes from when the bot writes
// first (a broadcast, a send over the API): "机器人单聊 intern001" reads
// "机器人单聊 小李". It writes only what changed (one read per command, a
// write per new name); a failure costs the name, never the command.
func (b *Bot) noteChat(ctx context.Context, req *request) {
	now := b.cfg.Now()
	var says []ledger.ChatInfo
	info := ledger.ChatInfo{Chat: req.chat, Updated: now}
	if req.chat.Family == ledger.Group {
		info.Title = req.msg.ConversationTitle
	} else {
		info.With = req.msg.SenderNick
	}
	if (info.Title != "" || info.With != "") && info.With != req.msg.SenderStaffID {
		says = append(says, info)
	}
	if nick, id := req.msg.SenderNick, req.msg.SenderStaffID; nick != "" && id != "" && nick != id {
		if oto := (ledger.Chat{Family: ledger.OTO, UserID: id}); oto.Key() != req.chat.Key() {
			says = append(says, ledger.ChatInfo{Chat: oto, With: nick, Updated: now})
		}
	}
	if len(says) == 0 {
		return // nothing said, or only the id again
	}
	chats := make([]ledger.Chat, len(says))
	for i, s := range says {
		chats[i] = s.Chat
	}
	known, err := b.led.ChatInfos(ctx, chats)
	if err != nil {
		return // the ledger's trouble is the command's to report
	}
	for _, s := range says {
		if k := known[s.Chat.Key()]; k.Title == s.Title && k.With == s.With {
			continue
		}
		if err := b.led.PutChatInfo(ctx, s); err != nil {
			req.log.Warn("chat name not recorded", zap.Error(err))
		}
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
