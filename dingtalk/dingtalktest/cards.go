package dingtalktest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Robot interactive cards, first generation (docs/dingtalk.md §10): a
// StandardCard is sent once (POST PathCardSend) and updated in place by its
// cardBizId (PUT PathCardUpdate). Its processQueryKey is recalled like any
// group or 1:1 message.
const (
	PathCardSend   = "/v1.0/im/v1.0/robot/interactiveCards/send"
	PathCardUpdate = "/v1.0/im/robots/interactiveCards"
	maxCardBizID   = 100 // documented: "不超过100字符"
)

// CardRefusal is how the emulator answers an app's cards: as a real app
// that has the first-generation card permission, or as one that lacks it.
type CardRefusal string

// Card refusals. DingTalk documents both codes; which one an app without
// the permission gets is observed, not documented.
const (
	CardsAllowed          CardRefusal = ""                 // cards are sent
	CardsPermissionDenied CardRefusal = "permission"       // 403 Forbidden.AccessDenied.AccessTokenPermissionDenied
	CardsTemplateMissing  CardRefusal = "template_missing" // 400 template.isNotExist
)

// Card is an interactive card as a chat member sees it.
type Card struct {
	BizID  string      `json:"cardBizId"`
	Title  string      `json:"title"`
	Color  string      `json:"color,omitempty"` // the header's colour token
	Blocks []CardBlock `json:"blocks"`
	Data   string      `json:"cardData"` // as last sent or updated
}

// CardBlock is one element of a card's contents.
type CardBlock struct {
	Kind    string       `json:"kind"` // markdown, text, divider, image, action
	Text    string       `json:"text,omitempty"`
	Buttons []CardButton `json:"buttons,omitempty"`
}

// CardButton is an action button.
type CardButton struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
}

// cardRecord is one card the bot sent, found by its app and cardBizId.
type cardRecord struct {
	key string
	msg *Message
}

type cardSendRequest struct {
	CardTemplateID     string `json:"cardTemplateId"`
	OpenConversationID string `json:"openConversationId"`
	SingleChatReceiver string `json:"singleChatReceiver"`
	CardBizID          string `json:"cardBizId"`
	RobotCode          string `json:"robotCode"`
	CardData           string `json:"cardData"`
	CallbackURL        string `json:"callbackUrl"`
	PullStrategy       bool   `json:"pullStrategy"`
}

type cardUpdateRequest struct {
	CardBizID string `json:"cardBizId"`
	CardData  string `json:"cardData"`
}

// SetCardRefusal makes the emulator answer every card call as for an app
// with (CardsAllowed) or without the card permission, from now on.
func (s *Server) SetCardRefusal(r CardRefusal) {
	s.mu.Lock()
	s.opts.CardRefusal = r
	s.notifyLocked()
	s.mu.Unlock()
}

// refuseCardsLocked answers a card call as an app without the card
// permission would be answered, and reports whether it did. s.mu held.
func (s *Server) refuseCardsLocked(e *exchange) bool {
	switch s.opts.CardRefusal {
	case CardsPermissionDenied:
		e.fail(http.StatusForbidden, "Forbidden.AccessDenied.AccessTokenPermissionDenied", "没有调用该接口的权限")
		return true
	case CardsTemplateMissing:
		e.fail(http.StatusBadRequest, "template.isNotExist", "卡片模板不存在")
		return true
	}
	return false
}

func (s *Server) handleCardSend(e *exchange) {
	var req cardSendRequest
	if json.Unmarshal(e.body, &req) != nil {
		e.fail(http.StatusBadRequest, "param.error", "参数错误：body 不是 JSON 对象")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	const bad = http.StatusBadRequest
	if s.refuseCardsLocked(e) {
		return
	}
	r, ok := s.robots[req.RobotCode]
	switch {
	case req.CardTemplateID != "StandardCard":
		e.fail(bad, "template.isNotExist", "卡片模板不存在："+req.CardTemplateID)
		return
	case !ok || r.app != e.app || r.state == RobotDeleted:
		e.fail(bad, "invalid.robotCode", "robotCode不合法")
		return
	case req.CardBizID == "" || len(req.CardBizID) > maxCardBizID:
		e.fail(bad, "invalid.bizId", "cardBizId不能为空且不超过100字符")
		return
	case (req.OpenConversationID == "") == (req.SingleChatReceiver == ""):
		e.fail(bad, "param.error", "openConversationId和singleChatReceiver二选一必填")
		return
	case r.state != RobotActive:
		e.fail(bad, "send.cardMsg.failed", "机器人已停用")
		return
	}
	card, ok := parseCard(req.CardData)
	if !ok {
		e.fail(bad, "param.isNotJson", "cardData不是合法的JSON")
		return
	}
	bizKey := e.app.ClientID + "\x00" + req.CardBizID
	if rec, ok := s.cards[bizKey]; ok && !s.opts.CardResendDelivers {
		// The card's idempotent id (inferred): the first card stands,
		// unchanged, and its key comes back.
		e.reply(map[string]any{"processQueryKey": rec.key})
		return
	}
	var c *conversation
	kind := KindGroup
	if req.OpenConversationID != "" {
		c, ok = s.convs[req.OpenConversationID]
		if !ok || c.Kind != KindGroup {
			e.fail(bad, "invalid.openConversationId", "openConversationId不合法（须为群会话）")
			return
		}
		if c.BotAbsent {
			e.fail(bad, "send.cardMsg.failed", "机器人不在群内")
			return
		}
	} else {
		var recv struct {
			UserID  string `json:"userId"`
			UnionID string `json:"unionId"`
		}
		if json.Unmarshal([]byte(req.SingleChatReceiver), &recv) != nil {
			e.fail(bad, "param.isNotJson", "singleChatReceiver不是合法的JSON")
			return
		}
		if recv.UserID == "" || s.users.invalid[recv.UserID] {
			e.fail(bad, "invalid.user", "接收人不合法")
			return
		}
		c, kind = s.otoConversationLocked(recv.UserID), KindOTO
	}
	card.BizID, card.Data = req.CardBizID, req.CardData
	s.issueKeyLocked(e, kind, r, "StandardCard", card.text(), c)
	var answer struct {
		Key string `json:"processQueryKey"`
	}
	_ = json.Unmarshal(e.resp, &answer)
	m := s.keys[answer.Key].msgs[0]
	m.Card = &card
	s.cards[bizKey] = &cardRecord{key: answer.Key, msg: m}
}

func (s *Server) handleCardUpdate(e *exchange) {
	var req cardUpdateRequest
	if json.Unmarshal(e.body, &req) != nil {
		e.fail(http.StatusBadRequest, "param.error", "参数错误：body 不是 JSON 对象")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	const bad = http.StatusBadRequest
	if s.refuseCardsLocked(e) {
		return
	}
	if req.CardBizID == "" {
		e.fail(bad, "param.error", "cardBizId不能为空")
		return
	}
	rec, ok := s.cards[e.app.ClientID+"\x00"+req.CardBizID]
	if !ok || rec.msg.Recalled && !s.opts.CardUpdateAfterRecall {
		e.fail(bad, "invalid.bizId", "cardBizId不存在")
		return
	}
	card, ok := parseCard(req.CardData)
	if !ok {
		e.fail(bad, "param.isNotJson", "cardData不是合法的JSON")
		return
	}
	if !rec.msg.Recalled {
		card.BizID, card.Data = req.CardBizID, req.CardData
		rec.msg.Card, rec.msg.Text = &card, card.text()
		rec.msg.Updates++
		rec.msg.UpdatedAt = s.opts.Now().Add(s.offset)
	}
	s.notifyLocked()
	e.reply(map[string]any{"processQueryKey": rec.key})
}

// Card returns the card sent with cardBizId by the default app, as its chat
// shows it now.
func (s *Server) Card(bizID string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.cards[s.opts.ClientID+"\x00"+bizID]
	if !ok {
		return Message{}, false
	}
	return *rec.msg, true
}

// parseCard reads a StandardCard's cardData (a JSON object in a string):
// header.title.text, header.title.color and the contents.
func parseCard(data string) (Card, bool) {
	var d struct {
		Header struct {
			Title struct {
				Text  string `json:"text"`
				Color string `json:"color"`
			} `json:"title"`
		} `json:"header"`
		Contents []struct {
			Type    string `json:"type"`
			Text    string `json:"text"`
			Actions []struct {
				Label struct {
					Text string `json:"text"`
				} `json:"label"`
				URL struct {
					All string `json:"all"`
				} `json:"url"`
			} `json:"actions"`
		} `json:"contents"`
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(data), &obj) != nil || obj == nil || json.Unmarshal([]byte(data), &d) != nil {
		return Card{}, false
	}
	c := Card{Title: d.Header.Title.Text, Color: d.Header.Title.Color}
	for _, el := range d.Contents {
		b := CardBlock{Kind: el.Type, Text: el.Text}
		for _, a := range el.Actions {
			b.Buttons = append(b.Buttons, CardButton{Label: a.Label.Text, URL: a.URL.All})
		}
		c.Blocks = append(c.Blocks, b)
	}
	return c, true
}

// text is what a member reads of a card, line by line: its title, then
// each element's text and buttons.
func (c Card) text() string {
	lines := []string{c.Title}
	for _, b := range c.Blocks {
		switch {
		case b.Text != "":
			lines = append(lines, b.Text)
		case len(b.Buttons) > 0:
			var labels []string
			for _, bt := range b.Buttons {
				labels = append(labels, "["+bt.Label+"]")
			}
			lines = append(lines, strings.Join(labels, " "))
		}
	}
	return strings.Join(lines, "\n")
}

// cardsInit is the cards' part of NewServer.
func (s *Server) cardsInit() { s.cards = map[string]*cardRecord{} }
