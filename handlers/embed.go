package handlers

import (
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
)

// FromSDK converts the Stream SDK's callback model into a Message, for
// programs that run their own Stream client and embed the Bot.
func FromSDK(d *chatbot.BotCallbackDataModel) Message {
	m := Message{MsgID: d.MsgId, ConversationID: d.ConversationId, ConversationType: d.ConversationType,
		SenderStaffID: d.SenderStaffId, SenderNick: d.SenderNick, MsgType: d.Msgtype, Text: d.Text.Content}
	if d.CreateAt > 0 {
		m.CreateAt = time.UnixMilli(d.CreateAt)
	}
	return m
}

// Owns reports whether text is one of recallbot's own commands (/recall,
// /preview, /confirm, /sent, /audit and their Chinese forms), which a host
// bot should hand to Handle, malformed ones included (recallbot answers
// them with its usage). /help and /status are left to the host.
func (b *Bot) Owns(text string) bool {
	v, ok := verbs[commandWord(text)]
	return ok && v != VerbHelp && v != VerbStatus
}
