package dingtalktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"
)

const (
	maxRecallKeys    = 20    // docs/dingtalk.md §4: more answers invalidParameter.processQueryKeys.overMax
	maxUserIDs       = 20    // oToMessages/batchSend userIds per call (documented)
	maxGroupMsgParam = 15000 // groupMessages/send msgParam bytes (documented)
)

// msgKeys are the 13 message templates a bot may send (docs/dingtalk.md §3.4).
var msgKeys = map[string]bool{
	"sampleText": true, "sampleMarkdown": true, "sampleImageMsg": true, "sampleLink": true,
	"sampleActionCard": true, "sampleActionCard2": true, "sampleActionCard3": true,
	"sampleActionCard4": true, "sampleActionCard5": true, "sampleActionCard6": true,
	"sampleAudio": true, "sampleFile": true, "sampleVideo": true,
}

// wellFormedKey is what the emulator accepts as a processQueryKey at all;
// anything else answers invalid.processQueryKey (the real rule is unknown).
var wellFormedKey = regexp.MustCompile(`^[A-Za-z0-9+/=_-]{1,128}$`)

func (s *Server) handleAccessToken(e *exchange) {
	var req struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	if !e.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[req.AppKey]
	if !ok || a.ClientSecret != req.AppSecret || req.AppSecret == "" {
		e.fail(http.StatusBadRequest, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
		return
	}
	now := s.opts.Now().Add(s.offset)
	// A repeat fetch inside the validity returns the same token and extends
	// it (observed).
	var t *token
	for _, cand := range s.tokens {
		if cand.app == a && now.Before(cand.expires) {
			t = cand
			break
		}
	}
	if t == nil {
		t = &token{value: randomID(16), app: a}
		s.tokens[t.value] = t
		s.issued = append(s.issued, t.value)
	}
	t.expires = now.Add(s.opts.TokenTTL)
	e.reply(map[string]any{"accessToken": t.value, "expireIn": int(s.opts.TokenTTL / time.Second)})
}

// IssuedTokens lists every access token ever issued, revoked ones
// included, so tests can check that none leaks into a log or a reply.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// RevokeTokens invalidates every access token issued so far: the next call
// with one answers 400 InvalidAuthentication.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	s.tokens = map[string]*token{}
	s.notifyLocked()
	s.mu.Unlock()
}

type sendRequest struct {
	MsgKey             string   `json:"msgKey"`
	MsgParam           string   `json:"msgParam"`
	OpenConversationID string   `json:"openConversationId"`
	RobotCode          string   `json:"robotCode"`
	CoolAppCode        string   `json:"coolAppCode"`
	UserIDs            []string `json:"userIds"`
}

// checkSendRobot validates robotCode for the send APIs. s.mu must be held.
func (s *Server) checkSendRobotLocked(e *exchange, code string) *robot {
	if code == "" {
		e.fail(http.StatusBadRequest, "invalidParameter.robotCode.empty", "robotCode不能为空")
		return nil
	}
	r, ok := s.robots[code]
	if !ok || r.state == RobotDeleted {
		e.fail(http.StatusBadRequest, "invalidParameter.robotCode.notExsit", "机器人不存在")
		return nil
	}
	if r.app != e.app {
		e.fail(http.StatusBadRequest, "invalidParameter.robotCode.auth", "该应用无权使用此机器人")
		return nil
	}
	if r.state != RobotActive {
		e.fail(http.StatusBadRequest, "chatbotId.notAllow.sendOTO", "机器人已经停用或者未启用")
		return nil
	}
	return r
}

// checkMessage validates msgKey and msgParam and returns the text a user
// would read.
func checkMessage(e *exchange, req *sendRequest, maxParam int) (string, bool) {
	if req.MsgKey == "" {
		e.fail(http.StatusBadRequest, "invalidParameter.msgKey.empty", "msgKey不能为空")
		return "", false
	}
	if !msgKeys[req.MsgKey] {
		e.fail(http.StatusBadRequest, "invalidParameter.msgKey.invalid", "msgKey不合法："+req.MsgKey)
		return "", false
	}
	var param map[string]any
	if req.MsgParam == "" || json.Unmarshal([]byte(req.MsgParam), &param) != nil || param == nil {
		e.fail(http.StatusBadRequest, "invalidParameter.msgParam.invalid", "msgParam必须是JSON格式")
		return "", false
	}
	if maxParam > 0 && len(req.MsgParam) > maxParam {
		e.fail(http.StatusBadRequest, "invalidParameter.msgParam.invalid", fmt.Sprintf("msgParam超过%d字节", maxParam))
		return "", false
	}
	return renderText(req.MsgKey, param), true
}

// renderText is what a chat member reads for a template.
func renderText(msgKey string, p map[string]any) string {
	str := func(k string) string { v, _ := p[k].(string); return v }
	switch msgKey {
	case "sampleText":
		return str("content")
	case "sampleMarkdown", "sampleActionCard", "sampleActionCard2", "sampleActionCard3",
		"sampleActionCard4", "sampleActionCard5", "sampleActionCard6", "sampleLink":
		if t := str("title"); t != "" {
			return t + "\n" + str("text")
		}
		return str("text")
	}
	b, _ := json.Marshal(p)
	return string(b)
}

func (s *Server) deliverLocked(c *conversation, robotCode, msgKey, text string, now time.Time) *Message {
	m := &Message{Sender: "bot:" + robotCode, MsgKey: msgKey, Text: text, SentAt: now}
	c.msgs = append(c.msgs, m)
	return m
}

func (s *Server) handlePrivateSend(e *exchange) {
	var req sendRequest
	if !e.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.checkSendRobotLocked(e, req.RobotCode)
	if r == nil {
		return
	}
	if req.CoolAppCode == "" || req.CoolAppCode != r.app.CoolAppCode {
		e.fail(http.StatusBadRequest, "invalidParameter.robotCode.coolApp", "酷应用不合法或与机器人不匹配")
		return
	}
	if req.OpenConversationID == "" {
		e.fail(http.StatusBadRequest, "invalidParameter.param.invalid", "openConversationId不能为空")
		return
	}
	c, ok := s.convs[req.OpenConversationID]
	if !ok || c.Kind != KindPrivate {
		e.fail(http.StatusBadRequest, "invalid.openConversationId", "openConversationId不合法")
		return
	}
	text, ok := checkMessage(e, &req, 0)
	if !ok {
		return
	}
	s.issueKeyLocked(e, KindPrivate, r, req.MsgKey, text, c)
}

func (s *Server) handleGroupSend(e *exchange) {
	var req sendRequest
	if !e.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.checkSendRobotLocked(e, req.RobotCode)
	if r == nil {
		return
	}
	c, ok := s.convs[req.OpenConversationID]
	if !ok || c.Kind != KindGroup {
		e.fail(http.StatusBadRequest, "invalid.openConversationId", "openConversationId不合法")
		return
	}
	if c.BotAbsent {
		e.fail(http.StatusBadRequest, "resource.unavailable", "机器人不在群内或已停用")
		return
	}
	if c.CoolAppCode != "" && req.CoolAppCode != c.CoolAppCode {
		e.fail(http.StatusBadRequest, "invalidParameter.robotCode.coolApp", "酷应用不合法或与机器人不匹配")
		return
	}
	text, ok := checkMessage(e, &req, maxGroupMsgParam)
	if !ok {
		return
	}
	s.issueKeyLocked(e, KindGroup, r, req.MsgKey, text, c)
}

func (s *Server) issueKeyLocked(e *exchange, kind Kind, r *robot, msgKey, text string, cs ...*conversation) {
	now := s.opts.Now().Add(s.offset)
	k := &keyRecord{family: kind, robot: r.code, sentAt: now}
	for _, c := range cs {
		k.convs = append(k.convs, c.ID)
		k.msgs = append(k.msgs, s.deliverLocked(c, r.code, msgKey, text, now))
	}
	key := newProcessQueryKey()
	for _, m := range k.msgs {
		m.ProcessQueryKey = key
	}
	s.keys[key] = k
	s.notifyLocked()
	e.reply(map[string]any{"processQueryKey": key})
}

func (s *Server) handleOTOSend(e *exchange) {
	var req sendRequest
	if !e.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.checkSendRobotLocked(e, req.RobotCode)
	if r == nil {
		return
	}
	if len(req.UserIDs) == 0 {
		e.fail(http.StatusBadRequest, "invalidParameter.userIds.empty", "userIds不能为空")
		return
	}
	if len(req.UserIDs) > maxUserIDs {
		e.fail(http.StatusBadRequest, "invalidParameter.userIds.overMax", fmt.Sprintf("userIds最多%d个", maxUserIDs))
		return
	}
	text, ok := checkMessage(e, &req, 0)
	if !ok {
		return
	}
	invalid, flow, filtered := []string{}, []string{}, []string{}
	var cs []*conversation
	for _, u := range req.UserIDs {
		switch {
		case u == "" || s.users.invalid[u]:
			invalid = append(invalid, u)
		case s.users.filtered[u]:
			filtered = append(filtered, u)
		case s.users.flowControlled[u] > 0:
			s.users.flowControlled[u]--
			flow = append(flow, u)
		default:
			cs = append(cs, s.otoConversationLocked(u))
		}
	}
	s.issueKeyLocked(e, KindOTO, r, req.MsgKey, text, cs...)
	var out map[string]any
	_ = json.Unmarshal(e.resp, &out)
	out["invalidStaffIdList"] = invalid
	out["flowControlledStaffIdList"] = flow
	out["filteredStaffIdList"] = filtered
	e.reply(out)
}

type recallRequest struct {
	OpenConversationID *string   `json:"openConversationId"`
	RobotCode          *string   `json:"robotCode"`
	ProcessQueryKeys   *[]string `json:"processQueryKeys"`
}

func (s *Server) handlePrivateRecall(e *exchange) { s.recall(e, KindPrivate) }
func (s *Server) handleOTORecall(e *exchange)     { s.recall(e, KindOTO) }
func (s *Server) handleGroupRecall(e *exchange)   { s.recall(e, KindGroup) }

// recall implements the three recall APIs. Whole-request problems answer
// the batchRecall error codes; per-key problems go into failedResult.
func (s *Server) recall(e *exchange, kind Kind) {
	var req recallRequest
	if !e.decode(&req) {
		return
	}
	const bad = http.StatusBadRequest
	switch {
	case req.RobotCode == nil || *req.RobotCode == "":
		e.fail(bad, "miss.chatbotId", "robotCode缺失")
		return
	case kind != KindOTO && (req.OpenConversationID == nil || *req.OpenConversationID == ""):
		e.fail(bad, "miss.openConversationId", "openConversationId缺失")
		return
	case req.ProcessQueryKeys == nil || len(*req.ProcessQueryKeys) == 0:
		e.fail(bad, "invalidParameter.processQueryKey.missing", "processQueryKey缺失")
		return
	case len(*req.ProcessQueryKeys) > maxRecallKeys:
		e.fail(bad, "invalidParameter.processQueryKeys.overMax", fmt.Sprintf("processQueryKeys超过上限%d", maxRecallKeys))
		return
	}
	for _, k := range *req.ProcessQueryKeys {
		if k == "" {
			e.fail(bad, "invalidParameter.param.invalid", "参数错误：processQueryKeys含空值")
			return
		}
		if !wellFormedKey.MatchString(k) {
			e.fail(bad, "invalid.processQueryKey", "processQueryKey不合法")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.robots[*req.RobotCode]
	switch {
	case !ok:
		e.fail(bad, "invalidParameter.robotCode.notExsit", "机器人不存在")
		return
	case r.app != e.app:
		e.fail(bad, "not.allowed.robotCode", "robotCode无权限")
		return
	}
	switch r.state {
	case RobotDeleted:
		e.fail(bad, "resource.not.found", "机器人不存在")
		return
	case RobotUnauthorized:
		e.fail(bad, "unauthorized", "无权限操作")
		return
	case RobotStopped:
		e.fail(bad, "bot.stopped", "机器人已停用")
		return
	case RobotTemplateMissing:
		e.fail(bad, "template.not.existed", "机器人模板不存在")
		return
	case RobotTemplateStopped:
		e.fail(bad, "template.stopped", "机器人模板已停用")
		return
	}
	var cid string
	if kind != KindOTO {
		cid = *req.OpenConversationID
		c, ok := s.convs[cid]
		if !ok || c.Kind != kind {
			e.fail(bad, "invalid.openConversationId", "openConversationId不合法")
			return
		}
		if c.BotAbsent {
			e.fail(bad, "invalidParameter.robotCode", "机器人不在该会话中")
			return
		}
	}
	now := s.opts.Now().Add(s.offset)
	success := []string{}
	failed := map[string]string{}
	reasons := s.opts.RecallReasons
	for _, key := range *req.ProcessQueryKeys {
		if reason, ok := s.faults.takeKey(key); ok {
			failed[key] = reason
			continue
		}
		k, ok := s.keys[key]
		switch {
		case !ok || k.robot != r.code || k.family != kind:
			failed[key] = reasons.NotFound
		case kind != KindOTO && (len(k.convs) == 0 || k.convs[0] != cid):
			failed[key] = reasons.OtherChat
		case len(k.msgs) > 0 && k.msgs[0].Recalled:
			if s.opts.RecallAlreadyRecalledSucceeds {
				success = append(success, key)
			} else {
				failed[key] = reasons.AlreadyRecalled
			}
		case now.Sub(k.sentAt) > s.opts.RecallWindow:
			failed[key] = reasons.Expired
		default:
			for _, m := range k.msgs {
				m.Recalled, m.RecalledAt = true, now
			}
			success = append(success, key)
		}
	}
	s.notifyLocked()
	e.reply(map[string]any{"successResult": success, "failedResult": failed})
}
