package dingtalk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// API paths, spelled as the official SDK spells them (oToMessages for send,
// otoMessages for recall).
const (
	pathAccessToken   = "/v1.0/oauth2/accessToken"
	PathPrivateSend   = "/v1.0/robot/privateChatMessages/send"
	PathPrivateRecall = "/v1.0/robot/privateChatMessages/batchRecall"
	PathOTOSend       = "/v1.0/robot/oToMessages/batchSend"
	PathOTORecall     = "/v1.0/robot/otoMessages/batchRecall"
	PathGroupSend     = "/v1.0/robot/groupMessages/send"
	PathGroupRecall   = "/v1.0/robot/groupMessages/recall"
	PathOTOQuery      = "/v1.0/robot/oToMessages/readStatus"
	PathPrivateQuery  = "/v1.0/robot/privateChatMessages/query"
	PathGroupQuery    = "/v1.0/robot/groupMessages/query"
)

// MaxRecallKeys is the most keys one recall call may carry: DingTalk
// rejects more with invalidParameter.processQueryKeys.overMax.
const MaxRecallKeys = 20

// WellFormedKey reports whether k could be a processQueryKey at all:
// 1 to 256 printable ASCII characters without spaces. DingTalk's keys are
// base64, about 44 characters (docs/dingtalk.md); its exact rule is not
// documented, so this only refuses what no key can be (an empty string,
// spaces, control or non-ASCII characters, a paste of a whole message),
// before it reaches the ledger or a recall call.
func WellFormedKey(k string) bool {
	if len(k) == 0 || len(k) > 256 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return false
		}
	}
	return true
}

// Message is a message template and its parameters.
type Message struct {
	MsgKey string
	// MsgParam is the template's parameters as a JSON object; DingTalk
	// wants it as a JSON string, which the client takes care of.
	MsgParam json.RawMessage
}

// Text is a plain text message.
func Text(content string) Message { return build("sampleText", map[string]string{"content": content}) }

// Markdown is a markdown message with a title (shown in notifications).
func Markdown(title, text string) Message {
	return build("sampleMarkdown", map[string]string{"title": title, "text": text})
}

// ActionCard is a card with one button.
func ActionCard(title, text, buttonTitle, buttonURL string) Message {
	return build("sampleActionCard", map[string]string{"title": title, "text": text, "singleTitle": buttonTitle, "singleURL": buttonURL})
}

func build(key string, p map[string]string) Message {
	b, _ := json.Marshal(p)
	return Message{MsgKey: key, MsgParam: b}
}

// Content is what a reader sees: the text, or title and text.
func (m Message) Content() string {
	var p map[string]any
	_ = json.Unmarshal(m.MsgParam, &p)
	str := func(k string) string { s, _ := p[k].(string); return s }
	switch {
	case str("content") != "":
		return str("content")
	case str("title") != "" && str("text") != "":
		return str("title") + "\n" + str("text")
	case str("text") != "":
		return str("text")
	}
	return string(m.MsgParam)
}

// Validate checks what DingTalk would refuse before anything is sent.
func (m Message) Validate() error {
	if m.MsgKey == "" {
		return fmt.Errorf("message has no msgKey")
	}
	var p map[string]any
	if err := json.Unmarshal(m.MsgParam, &p); err != nil || p == nil {
		return fmt.Errorf("msgParam must be a JSON object")
	}
	return nil
}

type sendBody struct {
	MsgKey             string   `json:"msgKey"`
	MsgParam           string   `json:"msgParam"`
	RobotCode          string   `json:"robotCode"`
	OpenConversationID string   `json:"openConversationId,omitempty"`
	CoolAppCode        string   `json:"coolAppCode,omitempty"`
	UserIDs            []string `json:"userIds,omitempty"`
}

func (c *Client) sendBody(m Message) (sendBody, error) {
	if err := m.Validate(); err != nil {
		return sendBody{}, err
	}
	return sendBody{MsgKey: m.MsgKey, MsgParam: string(m.MsgParam), RobotCode: c.cfg.RobotCode}, nil
}

type keyAnswer struct {
	ProcessQueryKey           string   `json:"processQueryKey"`
	InvalidStaffIDList        []string `json:"invalidStaffIdList"`
	FlowControlledStaffIDList []string `json:"flowControlledStaffIdList"`
	FilteredStaffIDList       []string `json:"filteredStaffIdList"`
}

func (a keyAnswer) key(path string) (string, error) {
	if a.ProcessQueryKey == "" {
		return "", &APIError{Path: path, Status: 200, Code: "malformedResponse", Message: "the answer has no processQueryKey"}
	}
	return a.ProcessQueryKey, nil
}

// SendPrivate sends into a person-to-person chat through the bot's cool
// app (privateChatMessages/send) and returns the processQueryKey.
func (c *Client) SendPrivate(ctx context.Context, conversationID string, m Message) (string, error) {
	b, err := c.sendBody(m)
	if err != nil {
		return "", err
	}
	b.OpenConversationID, b.CoolAppCode = conversationID, c.cfg.CoolAppCode
	var a keyAnswer
	if err := c.call(ctx, http.MethodPost, PathPrivateSend, nil, b, &a); err != nil {
		return "", err
	}
	return a.key(PathPrivateSend)
}

// SendGroup sends into a group chat (groupMessages/send), with the group
// cool app's code when one is configured.
func (c *Client) SendGroup(ctx context.Context, conversationID string, m Message) (string, error) {
	b, err := c.sendBody(m)
	if err != nil {
		return "", err
	}
	b.OpenConversationID, b.CoolAppCode = conversationID, c.cfg.GroupCoolAppCode
	var a keyAnswer
	if err := c.call(ctx, http.MethodPost, PathGroupSend, nil, b, &a); err != nil {
		return "", err
	}
	return a.key(PathGroupSend)
}

// RecipientError is a 200 answer to oToMessages/batchSend that names the
// recipient as invalid, filtered or flow-controlled: nothing reached them.
type RecipientError struct {
	UserID string
	// Reason is "invalid" (invalidStaffIdList), "filtered"
	// (filteredStaffIdList) or "flow_controlled"
	// (flowControlledStaffIdList).
	Reason string
}

func (e *RecipientError) Error() string {
	return fmt.Sprintf("dingtalk: recipient %s was not sent the message: %s", e.UserID, e.Reason)
}

func (e *RecipientError) describe(locale string) string {
	switch e.Reason {
	case "flow_controlled":
		if locale == "en" {
			return "DingTalk is limiting messages to this person right now"
		}
		return "钉钉正在限制发给此人的消息"
	case "filtered":
		if locale == "en" {
			return "DingTalk filtered this person out: the message was not delivered to them"
		}
		return "此人被钉钉过滤，消息未送达"
	}
	if locale == "en" {
		return "this person is not a valid recipient"
	}
	return "接收人无效"
}

// OTOResult is DingTalk's answer to one oToMessages/batchSend call: one
// key for every user it reached, and the users it did not.
type OTOResult struct {
	Key string
	// Invalid are users DingTalk does not know (invalidStaffIdList): they
	// got nothing, and never will.
	Invalid []string
	// FlowControlled are users DingTalk is throttling right now
	// (flowControlledStaffIdList): they got nothing; a later call may reach
	// them.
	FlowControlled []string
	// Filtered are users DingTalk filtered out (filteredStaffIdList, in
	// the official SDK since 2026; its meaning is not documented, and
	// other clients count them as not delivered): they got nothing, and
	// are not tried again. A user also listed invalid is only there.
	Filtered []string
}

// Reached is the users of the call DingTalk reached, in order.
func (r OTOResult) Reached(userIDs []string) []string {
	var out []string
	for _, u := range userIDs {
		if !slices.Contains(r.Invalid, u) && !slices.Contains(r.FlowControlled, u) && !slices.Contains(r.Filtered, u) {
			out = append(out, u)
		}
	}
	return out
}

// MaxRecipients is the most users one oToMessages/batchSend call takes:
// DingTalk refuses more with invalidParameter.userIds.overMax.
const MaxRecipients = 20

// SendOTOMany sends m to up to 20 users' 1:1 chats with the bot in one
// oToMessages/batchSend call. DingTalk answers one processQueryKey for all
// of them: recalling it takes the message back from every user it reached.
func (c *Client) SendOTOMany(ctx context.Context, userIDs []string, m Message) (OTOResult, error) {
	if len(userIDs) == 0 || len(userIDs) > MaxRecipients {
		return OTOResult{}, fmt.Errorf("dingtalk %s: %d users; a call takes 1 to %d", PathOTOSend, len(userIDs), MaxRecipients)
	}
	b, err := c.sendBody(m)
	if err != nil {
		return OTOResult{}, err
	}
	b.UserIDs = userIDs
	var a keyAnswer
	if err := c.call(ctx, http.MethodPost, PathOTOSend, nil, b, &a); err != nil {
		return OTOResult{}, err
	}
	r := OTOResult{Key: a.ProcessQueryKey, Invalid: a.InvalidStaffIDList, FlowControlled: a.FlowControlledStaffIDList}
	for _, u := range a.FilteredStaffIDList {
		if !slices.Contains(r.Invalid, u) {
			r.Filtered = append(r.Filtered, u)
		}
	}
	if r.Key == "" && len(r.Reached(userIDs)) > 0 {
		return r, &APIError{Path: PathOTOSend, Status: 200, Code: "malformedResponse", Message: "the answer has no processQueryKey"}
	}
	return r, nil
}

// SendOTO sends to one user's 1:1 chat with the bot and returns the
// processQueryKey: SendOTOMany with one user, so that the key belongs to
// that chat alone (a single message's recall never reaches anyone else).
// A recipient reported invalid, filtered or flow-controlled is a
// *RecipientError.
func (c *Client) SendOTO(ctx context.Context, userID string, m Message) (string, error) {
	r, err := c.SendOTOMany(ctx, []string{userID}, m)
	switch {
	case err != nil:
		return "", err
	case slices.Contains(r.Invalid, userID):
		return "", &RecipientError{UserID: userID, Reason: "invalid"}
	case slices.Contains(r.Filtered, userID):
		return "", &RecipientError{UserID: userID, Reason: "filtered"}
	case slices.Contains(r.FlowControlled, userID):
		return "", &RecipientError{UserID: userID, Reason: "flow_controlled"}
	}
	return r.Key, nil
}

// RecallResult is DingTalk's per-key answer to a recall.
type RecallResult struct {
	Recalled []string          `json:"successResult"`
	Failed   map[string]string `json:"failedResult"` // key -> DingTalk's reason
}

type recallBody struct {
	OpenConversationID string   `json:"openConversationId,omitempty"`
	RobotCode          string   `json:"robotCode"`
	ProcessQueryKeys   []string `json:"processQueryKeys"`
}

func (c *Client) recall(ctx context.Context, path, conversationID string, keys []string) (RecallResult, error) {
	if len(keys) == 0 || len(keys) > MaxRecallKeys {
		return RecallResult{}, fmt.Errorf("dingtalk %s: %d keys; a recall takes 1 to %d", path, len(keys), MaxRecallKeys)
	}
	var r RecallResult
	err := c.call(ctx, http.MethodPost, path, nil, recallBody{OpenConversationID: conversationID, RobotCode: c.cfg.RobotCode, ProcessQueryKeys: keys}, &r)
	return r, err
}

// RecallPrivate recalls up to 20 messages of one person-to-person chat
// (privateChatMessages/batchRecall).
func (c *Client) RecallPrivate(ctx context.Context, conversationID string, keys []string) (RecallResult, error) {
	return c.recall(ctx, PathPrivateRecall, conversationID, keys)
}

// RecallOTO recalls up to 20 messages sent with oToMessages/batchSend, to
// any users (otoMessages/batchRecall takes no conversation).
func (c *Client) RecallOTO(ctx context.Context, keys []string) (RecallResult, error) {
	return c.recall(ctx, PathOTORecall, "", keys)
}

// RecallGroup recalls up to 20 messages of one group (groupMessages/recall).
func (c *Client) RecallGroup(ctx context.Context, conversationID string, keys []string) (RecallResult, error) {
	return c.recall(ctx, PathGroupRecall, conversationID, keys)
}
