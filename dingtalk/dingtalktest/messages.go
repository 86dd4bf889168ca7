package dingtalktest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// UserMessage is a message a user types to the bot.
type UserMessage struct {
	// ConversationID is the chat. For ConversationType "1" it may be empty:
	// the sender's 1:1 chat with the bot is used (and created).
	ConversationID string
	// ConversationType is "1" (one-to-one) or "2" (group); default "1".
	ConversationType string
	SenderStaffID    string
	SenderNick       string // default: the staffId
	Text             string
	// MsgType is the callback msgtype; default "text". Other types carry
	// no text, as on the real platform.
	MsgType string
	// IsAdmin is the callback's isAdmin (an org admin, not a bot admin).
	IsAdmin bool
	// Unmentioned marks a group message that does not @ the bot: it is
	// shown in the chat but, as on the real platform, not pushed.
	Unmentioned bool
	// RobotCode selects the bot (and so the app whose connections get the
	// frame); default the default app's robot.
	RobotCode string
	// RawData, when set, is sent verbatim as the frame's data string
	// instead of a well-formed callback body (for malformed-frame tests).
	RawData string
}

// PushMessage records a user's message in its chat and pushes the bot
// callback frame to one of the app's Stream connections, chosen at random.
// It returns the callback's msgId. Without a live connection the frame
// waits for one.
func (s *Server) PushMessage(m UserMessage) (msgID string, err error) {
	msgID, _, err = s.pushMessage(m)
	return msgID, err
}

// pushMessage is PushMessage, also returning the chat the message went to.
func (s *Server) pushMessage(m UserMessage) (msgID, convID string, err error) {
	if m.ConversationType == "" {
		m.ConversationType = "1"
	}
	if m.RobotCode == "" {
		m.RobotCode = s.opts.RobotCode
	}
	if m.MsgType == "" {
		m.MsgType = "text"
	}
	if m.SenderNick == "" {
		m.SenderNick = m.SenderStaffID
	}
	if m.SenderStaffID == "" {
		return "", "", fmt.Errorf("emulator: senderStaffId is required")
	}
	if m.ConversationType != "1" && m.ConversationType != "2" {
		return "", "", fmt.Errorf("emulator: conversationType must be \"1\" or \"2\", not %q", m.ConversationType)
	}
	msgID = "msg" + randomID(12) + "=="
	s.mu.Lock()
	r, ok := s.robots[m.RobotCode]
	if !ok {
		s.mu.Unlock()
		return "", "", fmt.Errorf("emulator: unknown robot %q", m.RobotCode)
	}
	c, err := s.userConversationLocked(m)
	if err != nil {
		s.mu.Unlock()
		return "", "", err
	}
	now := s.opts.Now().Add(s.offset)
	text := m.Text
	if m.MsgType != "text" {
		text = ""
	}
	c.msgs = append(c.msgs, &Message{MsgID: msgID, Sender: m.SenderStaffID, Text: text, SentAt: now})
	if m.SenderNick != m.SenderStaffID {
		s.nicks[m.SenderStaffID] = m.SenderNick
	}
	s.notifyLocked()
	s.mu.Unlock()
	if m.ConversationType == "2" && m.Unmentioned {
		return msgID, c.ID, nil
	}
	data := m.RawData
	label := m.SenderStaffID + ": " + shorten(text, 60)
	if m.MsgType != "text" {
		label = m.SenderStaffID + ": (" + m.MsgType + ")"
	}
	if data == "" {
		data = callbackData(s, m, c, r, msgID, now.UnixMilli())
	} else {
		label = m.SenderStaffID + ": (raw data)"
	}
	d := &delivery{app: r.app, typ: "CALLBACK", topic: TopicBotMessage, messageID: newMessageID(), msgID: msgID, data: data, label: label}
	s.mu.Lock()
	s.stream.byMsgID[msgID] = d
	s.mu.Unlock()
	s.push(d)
	return msgID, c.ID, nil
}

// shorten cuts s to n runes, with an ellipsis when it cut.
func shorten(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// userConversationLocked finds or creates the chat a user message goes to.
func (s *Server) userConversationLocked(m UserMessage) (*conversation, error) {
	if m.ConversationType == "2" {
		if m.ConversationID == "" {
			return nil, fmt.Errorf("emulator: a group message needs a conversationId")
		}
		c, ok := s.convs[m.ConversationID]
		if !ok {
			c = &conversation{Conversation: Conversation{ID: m.ConversationID, Kind: KindGroup, Title: "群 " + m.ConversationID}}
			s.convs[c.ID] = c
		}
		if c.Kind != KindGroup {
			return nil, fmt.Errorf("emulator: conversation %q is a %s chat, not a group", c.ID, c.Kind)
		}
		return c, nil
	}
	if c, ok := s.convs[m.ConversationID]; ok {
		if c.Kind == KindOTO && c.UserID != m.SenderStaffID {
			return nil, fmt.Errorf("emulator: conversation %q is %s's chat with the bot", c.ID, c.UserID)
		}
		if c.Kind == KindGroup {
			return nil, fmt.Errorf("emulator: conversation %q is a group; use conversationType \"2\"", c.ID)
		}
		return c, nil
	}
	if m.ConversationID != "" {
		if old, ok := s.otoCID[m.SenderStaffID]; ok {
			return nil, fmt.Errorf("emulator: %s's chat with the bot is %q, not %q", m.SenderStaffID, old, m.ConversationID)
		}
		c := &conversation{Conversation: Conversation{ID: m.ConversationID, Kind: KindOTO, UserID: m.SenderStaffID}}
		s.convs[c.ID] = c
		s.otoCID[m.SenderStaffID] = c.ID
		return c, nil
	}
	return s.otoConversationLocked(m.SenderStaffID), nil
}

// callbackData is the bot callback body (docs/dingtalk.md §8), JSON-encoded.
func callbackData(s *Server, m UserMessage, c *conversation, r *robot, msgID string, createAt int64) string {
	body := map[string]any{
		"conversationId":            c.ID,
		"conversationType":          m.ConversationType,
		"chatbotCorpId":             "dingcorp" + r.app.appID[:8],
		"chatbotUserId":             "$:LWCP_v1:$bot" + r.code,
		"msgId":                     msgID,
		"senderNick":                m.SenderNick,
		"isAdmin":                   m.IsAdmin,
		"senderStaffId":             m.SenderStaffID,
		"senderId":                  "$:LWCP_v1:$" + m.SenderStaffID,
		"senderCorpId":              "dingcorp" + r.app.appID[:8],
		"sessionWebhook":            s.url + "/robot/sendBySession?session=" + randomID(8),
		"sessionWebhookExpiredTime": createAt + 90*60*1000,
		"createAt":                  createAt,
		"isInAtList":                m.ConversationType == "2",
		"robotCode":                 r.code,
		"msgtype":                   m.MsgType,
	}
	switch m.MsgType {
	case "text":
		text := m.Text
		if m.ConversationType == "2" && !strings.HasPrefix(text, " ") {
			text = " " + text // DingTalk leaves a space where the @ was
		}
		body["text"] = map[string]string{"content": text}
	case "picture":
		body["content"] = map[string]string{"pictureDownloadCode": randomID(8), "downloadCode": randomID(8)}
	default:
		body["content"] = map[string]string{"unknownMsgType": m.MsgType}
	}
	if m.ConversationType == "2" {
		body["conversationTitle"] = c.Title
		body["atUsers"] = []map[string]string{{"dingtalkId": "$:LWCP_v1:$bot" + r.code}}
	}
	b, _ := json.Marshal(body)
	return string(b)
}
