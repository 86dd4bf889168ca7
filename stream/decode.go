package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"

	"github.com/recallbot/recallbot/internal/jsonkeys"
)

// Message is a message a user sent the bot, free of the SDK's types. It has
// the fields of Message, so the app converts one into the other
// (Message(m)); stream itself knows nothing of the commands.
type Message struct {
	MsgID            string
	ConversationID   string
	ConversationType string // "1" one-to-one, "2" group
	SenderStaffID    string
	SenderNick       string
	MsgType          string
	Text             string
	CreateAt         time.Time
	// ConversationTitle is a group's title, as DingTalk sends it with
	// each group message; "" in one-to-one chats.
	ConversationTitle string
}

// callback is the bot-message body (docs/dingtalk.md §8). conversationType is
// documented as a string; some clients have seen numbers, so both parse.
type callback struct {
	MsgID             string          `json:"msgId"`
	ConversationID    string          `json:"conversationId"`
	ConversationType  json.RawMessage `json:"conversationType"`
	SenderStaffID     string          `json:"senderStaffId"`
	SenderNick        string          `json:"senderNick"`
	MsgType           string          `json:"msgtype"`
	CreateAt          int64           `json:"createAt"`
	ConversationTitle string          `json:"conversationTitle"`
	Text              struct {
		Content string `json:"content"`
	} `json:"text"`
}

// DecodeCallback turns a frame's data into a Message, or says what is
// wrong with it. Decoding is strict about the fields it reads: Go's JSON
// decoder matches keys without regard to case and lets a later key win,
// so a frame carrying both senderStaffId and senderStaffID would run as
// whoever the second one names. A key given twice (jsonkeys.Repeated),
// or a field spelled other than DingTalk spells it, is refused.
func DecodeCallback(data string) (Message, error) {
	if err := jsonkeys.Repeated([]byte(data)); err != nil {
		return Message{}, fmt.Errorf("callback data: %w", err)
	}
	if err := strictKeys([]byte(data), callbackKeys); err != nil {
		return Message{}, err
	}
	var cb callback
	if err := json.Unmarshal([]byte(data), &cb); err != nil {
		return Message{}, fmt.Errorf("callback data is not a JSON object: %w", err)
	}
	if cb.MsgID == "" {
		return Message{}, errors.New("callback data has no msgId")
	}
	ct := strings.Trim(string(cb.ConversationType), `"`)
	if ct != "1" && ct != "2" {
		return Message{}, fmt.Errorf("callback conversationType %s is neither 1 nor 2", cb.ConversationType)
	}
	m := Message{MsgID: cb.MsgID, ConversationID: cb.ConversationID, ConversationType: ct, SenderStaffID: cb.SenderStaffID,
		SenderNick: cb.SenderNick, MsgType: cb.MsgType, Text: cb.Text.Content, ConversationTitle: cb.ConversationTitle}
	if cb.CreateAt > 0 {
		m.CreateAt = time.UnixMilli(cb.CreateAt)
	}
	return m, nil
}

// callbackKeys are the keys DecodeCallback reads, as DingTalk spells them;
// for "text", the keys of the object inside.
var callbackKeys = map[string][]string{
	"msgId": nil, "conversationId": nil, "conversationType": nil, "senderStaffId": nil, "senderNick": nil,
	"msgtype": nil, "createAt": nil, "conversationTitle": nil, "text": {"content"},
}

// strictKeys checks that data is a JSON object in which every key that
// matches a wanted key without regard to case is spelled exactly as wanted
// (and likewise inside the nested objects wanted names). Keys given twice
// are jsonkeys.Repeated's to find.
func strictKeys(data []byte, wanted map[string][]string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("callback data is not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("callback data is not a JSON object: %w", err)
		}
		key, _ := t.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return fmt.Errorf("callback data is not a JSON object: %w", err)
		}
		for w, inner := range wanted {
			if !strings.EqualFold(key, w) {
				continue
			}
			if key != w {
				return fmt.Errorf("callback field %q is not DingTalk's spelling %q", key, w)
			}
			if len(inner) > 0 && len(val) > 0 && val[0] == '{' {
				sub := map[string][]string{}
				for _, k := range inner {
					sub[k] = nil
				}
				if err := strictKeys(val, sub); err != nil {
					return fmt.Errorf("%s: %w", w, err)
				}
			}
		}
	}
	return nil
}

// FromSDK converts the Stream SDK's callback model into a Message, for
// programs that run their own Stream client and embed the Bot.
func FromSDK(d *chatbot.BotCallbackDataModel) Message {
	m := Message{MsgID: d.MsgId, ConversationID: d.ConversationId, ConversationType: d.ConversationType,
		SenderStaffID: d.SenderStaffId, SenderNick: d.SenderNick, MsgType: d.Msgtype, Text: d.Text.Content,
		ConversationTitle: d.ConversationTitle}
	if d.CreateAt > 0 {
		m.CreateAt = time.UnixMilli(d.CreateAt)
	}
	return m
}
