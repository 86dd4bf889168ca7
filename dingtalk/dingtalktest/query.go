package dingtalktest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maxQueryResults is the page size limit of the group and private query
// APIs (documented: maxResults ≤ 200).
const maxQueryResults = 200

// MarkRead records that userID has read the bot message sent with
// processQueryKey (every copy of a batchSend key that userID received, or
// the one message of a group or private key). The query APIs report it.
func (s *Server) MarkRead(processQueryKey, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[processQueryKey]
	if !ok {
		return fmt.Errorf("emulator: unknown processQueryKey %q", processQueryKey)
	}
	now := s.opts.Now().Add(s.offset)
	for i, m := range k.msgs {
		if k.family == KindOTO {
			if c := s.convs[k.convs[i]]; c == nil || c.UserID != userID {
				continue
			}
		}
		read := false
		for _, r := range m.ReadBy {
			read = read || r.UserID == userID
		}
		if !read {
			m.ReadBy = append(m.ReadBy, Read{UserID: userID, At: now})
		}
	}
	s.notifyLocked()
	return nil
}

// sendStatusLocked is a key's sendStatus: PROCESSING for the first
// Options.ProcessingFor after sending, then SUCCESS, or RECALLED once
// recalled.
func (s *Server) sendStatusLocked(k *keyRecord, now time.Time) string {
	switch {
	case len(k.msgs) > 0 && k.msgs[0].Recalled:
		return "RECALLED"
	case now.Sub(k.sentAt) < s.opts.ProcessingFor:
		return "PROCESSING"
	}
	return "SUCCESS"
}

// queryKeyLocked finds a key for the query APIs, or answers the error
// DingTalk gives (docs/dingtalk.md §5): no openConversationId and no
// token is openConversationId.notExisted, a chat that is not there
// invalid.openConversationId, a token (a group template bot's, which the
// emulator has none of) invalidParameter.invalid. For the first
// Options.QueryNotReadyFor after the send the key's data is "not
// generated yet": processQueryKey.expireTime, as for an expired one.
// s.mu must be held.
func (s *Server) queryKeyLocked(e *exchange, robotCode, key string, kind Kind, cid, token string) *keyRecord {
	const bad = http.StatusBadRequest
	switch {
	case robotCode == "":
		e.fail(bad, "invalidParameter.robotCode.missing", "robotCode不能为空")
		return nil
	case key == "":
		e.fail(bad, "invalidParameter.processQueryKey.missing", "processQueryKey不能为空")
		return nil
	}
	r, ok := s.robots[robotCode]
	switch {
	case !ok:
		e.fail(bad, "invalidParameter.robotCode.notExsit", "机器人不存在")
		return nil
	case r.app != e.app:
		e.fail(bad, "invalidParameter.robotCode.invalid", "robotCode无权限")
		return nil
	case r.state == RobotStopped:
		e.fail(bad, "bot.stopped", "机器人已停用")
		return nil
	}
	if kind != KindOTO {
		switch c, ok := s.convs[cid]; {
		case cid == "" && token == "":
			e.fail(bad, "openConversationId.notExisted", "openConversationId不能和token同时为空")
			return nil
		case cid == "":
			e.fail(bad, "invalidParameter.invalid", "token对应机器人不存在")
			return nil
		case !ok || c.Kind != kind:
			e.fail(bad, "invalid.openConversationId", "无效的openConversationId")
			return nil
		}
	}
	k, ok := s.keys[key]
	if !ok || k.robot != robotCode || k.family != kind || (kind != KindOTO && (len(k.convs) == 0 || k.convs[0] != cid)) {
		e.fail(bad, "invalid.processQueryKey", "processQueryKey不合法")
		return nil
	}
	if age := s.opts.Now().Add(s.offset).Sub(k.sentAt); age > s.opts.RecallWindow || age < s.opts.QueryNotReadyFor {
		e.fail(bad, "processQueryKey.expireTime", "processQueryKey还未生成消息查询数据或已过期")
		return nil
	}
	return k
}

// handleOTOQuery is GET oToMessages/readStatus: the status of a batchSend
// key and every recipient's read state.
func (s *Server) handleOTOQuery(e *exchange) {
	q := e.r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.queryKeyLocked(e, q.Get("robotCode"), q.Get("processQueryKey"), KindOTO, "", "")
	if k == nil {
		return
	}
	now := s.opts.Now().Add(s.offset)
	type info struct {
		Name          string `json:"name"`
		UserID        string `json:"userId"`
		ReadStatus    string `json:"readStatus"`
		ReadTimestamp int64  `json:"readTimestamp,omitempty"`
	}
	list := []info{}
	for i, m := range k.msgs {
		c := s.convs[k.convs[i]]
		in := info{Name: c.UserID, UserID: c.UserID, ReadStatus: "UNREAD"}
		for _, r := range m.ReadBy {
			if r.UserID == c.UserID {
				in.ReadStatus, in.ReadTimestamp = "READ", r.At.UnixMilli()
			}
		}
		list = append(list, in)
	}
	e.reply(map[string]any{"sendStatus": s.sendStatusLocked(k, now), "messageReadInfoList": list})
}

type queryRequest struct {
	OpenConversationID string `json:"openConversationId"`
	RobotCode          string `json:"robotCode"`
	ProcessQueryKey    string `json:"processQueryKey"`
	MaxResults         int    `json:"maxResults"`
	NextToken          string `json:"nextToken"`
	Token              string `json:"token"` // a group template bot's, instead of openConversationId
}

func (s *Server) handlePrivateQuery(e *exchange) { s.queryPaged(e, KindPrivate) }
func (s *Server) handleGroupQuery(e *exchange)   { s.queryPaged(e, KindGroup) }

// queryPaged is privateChatMessages/query and groupMessages/query: the
// status and the readers, maxResults (≤ 200) at a time, continued with the
// nextToken of the previous page (an offset here; opaque to callers).
func (s *Server) queryPaged(e *exchange, kind Kind) {
	var req queryRequest
	if !e.decode(&req) {
		return
	}
	const bad = http.StatusBadRequest
	if req.MaxResults == 0 {
		req.MaxResults = 100
	}
	if req.MaxResults < 0 || req.MaxResults > maxQueryResults {
		e.fail(bad, "invalidParameter.pageSize.invalid", fmt.Sprintf("maxResults不能超过%d", maxQueryResults))
		return
	}
	offset := 0
	if req.NextToken != "" {
		n, err := strconv.Atoi(req.NextToken)
		if err != nil || n < 0 {
			e.fail(bad, "invalidParameter.cursor.invalid", "nextToken不合法")
			return
		}
		offset = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.queryKeyLocked(e, req.RobotCode, req.ProcessQueryKey, kind, req.OpenConversationID, req.Token)
	if k == nil {
		return
	}
	var readers []Read
	if len(k.msgs) > 0 {
		readers = k.msgs[0].ReadBy
	}
	ids, users := []string{}, []map[string]string{}
	end := min(offset+req.MaxResults, len(readers))
	for _, r := range readers[min(offset, len(readers)):end] {
		ids = append(ids, r.UserID)
		users = append(users, map[string]string{"userId": r.UserID, "unionId": "union-" + r.UserID})
	}
	out := map[string]any{"sendStatus": s.sendStatusLocked(k, s.opts.Now().Add(s.offset)), "readUserIds": ids, "hasMore": end < len(readers)}
	if kind == KindGroup {
		out["readUsers"] = users
	}
	if end < len(readers) {
		out["nextToken"] = strconv.Itoa(end)
	}
	e.reply(out)
}
