package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Robot interactive cards, first generation ("机器人发送互动卡片（普通版）"):
// the template-free StandardCard, sent once and then updated in place by
// its cardBizId (docs/dingtalk.md §10). The send answers a processQueryKey
// that the usual recall APIs take back.
const (
	// PathCardSend sends a card; the doubled v1.0 is DingTalk's own.
	PathCardSend = "/v1.0/im/v1.0/robot/interactiveCards/send"
	// PathCardUpdate updates a card by its cardBizId alone (PUT).
	PathCardUpdate = "/v1.0/im/robots/interactiveCards"
	// StandardCard is the cardTemplateId of the template-free card.
	StandardCard = "StandardCard"
	// MaxCardBizID is the longest cardBizId DingTalk takes (64 or fewer
	// recommended).
	MaxCardBizID = 100
)

// CardChat is where a card goes: a group, or one user's 1:1 chat with the
// bot. StandardCard reaches no person-to-person chat.
type CardChat struct {
	ConversationID string // a group's openConversationId
	UserID         string // a user's staffId, for singleChatReceiver
}

type cardSendBody struct {
	CardTemplateID     string `json:"cardTemplateId"`
	OpenConversationID string `json:"openConversationId,omitempty"`
	SingleChatReceiver string `json:"singleChatReceiver,omitempty"` // a JSON string
	CardBizID          string `json:"cardBizId"`
	RobotCode          string `json:"robotCode"`
	CardData           string `json:"cardData"` // a JSON string
	PullStrategy       bool   `json:"pullStrategy"`
}

type cardUpdateBody struct {
	CardBizID     string            `json:"cardBizId"`
	CardData      string            `json:"cardData"`
	UpdateOptions cardUpdateOptions `json:"updateOptions"`
}

type cardUpdateOptions struct {
	UpdateCardDataByKey    bool `json:"updateCardDataByKey"`
	UpdatePrivateDataByKey bool `json:"updatePrivateDataByKey"`
}

// checkCard refuses what DingTalk would, before anything is sent.
func checkCard(bizID string, data json.RawMessage) error {
	var obj map[string]any
	switch {
	case bizID == "" || len(bizID) > MaxCardBizID:
		return fmt.Errorf("a cardBizId has 1 to %d characters, not %d", MaxCardBizID, len(bizID))
	case json.Unmarshal(data, &obj) != nil || obj == nil:
		return errors.New("cardData must be a JSON object")
	}
	return nil
}

// SendCard sends a StandardCard with cardData data into a group or a 1:1
// chat and returns its processQueryKey. bizID must be unique for the app:
// updates find the card by it alone.
func (c *Client) SendCard(ctx context.Context, to CardChat, bizID string, data json.RawMessage) (string, error) {
	if err := checkCard(bizID, data); err != nil {
		return "", err
	}
	b := cardSendBody{CardTemplateID: StandardCard, CardBizID: bizID, RobotCode: c.cfg.RobotCode, CardData: string(data)}
	switch {
	case to.ConversationID != "" && to.UserID == "":
		b.OpenConversationID = to.ConversationID
	case to.UserID != "" && to.ConversationID == "":
		r, _ := json.Marshal(map[string]string{"userId": to.UserID})
		b.SingleChatReceiver = string(r)
	default:
		return "", errors.New("a card goes to a group or to one user, not both or neither")
	}
	var a keyAnswer
	if err := c.call(ctx, http.MethodPost, PathCardSend, nil, b, &a); err != nil {
		return "", err
	}
	return a.key(PathCardSend)
}

// UpdateCard replaces the data of the card sent with bizID (in place: the
// chat shows the new data where the card is). It returns the
// processQueryKey DingTalk answers, which may be "".
func (c *Client) UpdateCard(ctx context.Context, bizID string, data json.RawMessage) (string, error) {
	if err := checkCard(bizID, data); err != nil {
		return "", err
	}
	var a keyAnswer
	if err := c.call(ctx, http.MethodPut, PathCardUpdate, nil, cardUpdateBody{CardBizID: bizID, CardData: string(data)}, &a); err != nil {
		return "", err
	}
	return a.ProcessQueryKey, nil
}

// CardsRefused reports whether err says DingTalk will not send this app's
// cards at all: the app lacks the permission (403
// Forbidden.AccessDenied.AccessTokenPermissionDenied; the first-generation
// permission may no longer be granted to new apps) or DingTalk does not
// know the template (template.isNotExist). Such an app sends markdown.
func CardsRefused(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == "Forbidden.AccessDenied.AccessTokenPermissionDenied" || ae.Code == "template.isNotExist")
}

// CardGone reports whether err says the card of an update does not exist:
// it was never sent, or it was recalled (invalid.bizId).
func CardGone(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == "invalid.bizId" || ae.Code == "cardInstance.notExist")
}

// cardSentences are the card APIs' error codes in words (the send and
// update pages' tables, docs/dingtalk.md §10). They join sentences at
// start, kept here beside the calls that produce them.
var cardSentences = map[string]sentence{
	"param.error":                {"卡片请求参数有误", "a parameter of the card request is not valid"},
	"param.isNotJson":            {"卡片数据不是合法的 JSON", "the card data is not valid JSON"},
	"invalid.user":               {"卡片接收人无效", "the card's recipient is not valid"},
	"invalid.robotCode":          {"机器人编码无效", "the robotCode is not valid"},
	"template.isNotExist":        {"卡片模板不存在（应用可能没有互动卡片权限）", "the card template does not exist (the app may lack the interactive card permission)"},
	"create.cardInstance.failed": {"钉钉创建卡片失败", "DingTalk could not create the card"},
	"send.cardMsg.failed":        {"钉钉发送卡片失败", "DingTalk could not send the card"},
	"invalid.bizId":              {"卡片 ID（cardBizId）无效或卡片不存在", "the card ID (cardBizId) is not valid, or the card does not exist"},
	"cardInstance.notExist":      {"卡片不存在", "the card does not exist"},
	"cardMessage.sendFailed":     {"钉钉发送卡片消息失败", "DingTalk could not send the card message"},
}

func init() {
	for code, s := range cardSentences {
		if _, ok := sentences[code]; !ok {
			sentences[code] = s
		}
	}
}
