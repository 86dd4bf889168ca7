package dingtalktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// controlRoutes serves the control API under /sim/v1, for a person or
// another program playing the users (see docs/emulator.md). Its errors are
// JSON {"error": "..."}.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sim/v1/conversations/{id}/messages", s.ctlPostMessage)
	mux.HandleFunc("GET /sim/v1/conversations/{id}", s.ctlGetConversation)
	mux.HandleFunc("GET /sim/v1/conversations", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Conversations())
	})
	mux.HandleFunc("POST /sim/v1/conversations", s.ctlAddConversation)
	mux.HandleFunc("GET /sim/v1/users/{id}/conversation", func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.UserConversation(r.PathValue("id"))
		if !ok {
			ctlError(w, http.StatusNotFound, "the bot has no chat with this user yet")
			return
		}
		ctlJSON(w, http.StatusOK, c)
	})
	mux.HandleFunc("GET /sim/v1/calls", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Calls())
	})
	mux.HandleFunc("GET /sim/v1/connections", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Connections())
	})
	mux.HandleFunc("GET /sim/v1/stream", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.StreamStats())
	})
	mux.HandleFunc("POST /sim/v1/connections/{id}/{action}", s.ctlConnection)
	mux.HandleFunc("POST /sim/v1/faults", s.ctlFault)
	mux.HandleFunc("GET /sim/v1/faults", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.ArmedFaults())
	})
	mux.HandleFunc("DELETE /sim/v1/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		ctlJSON(w, http.StatusOK, map[string]string{"status": "cleared"})
	})
	mux.HandleFunc("GET /sim/v1/frames", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.FrameEvents())
	})
	mux.HandleFunc("POST /sim/v1/reads", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Key    string `json:"processQueryKey"`
			UserID string `json:"userId"`
		}
		if !ctlDecode(w, r, &req) {
			return
		}
		if req.UserID == "" {
			ctlError(w, http.StatusBadRequest, "userId is required")
			return
		}
		if err := s.MarkRead(req.Key, req.UserID); err != nil {
			ctlError(w, http.StatusNotFound, err.Error())
			return
		}
		ctlJSON(w, http.StatusOK, map[string]string{"status": "read"})
	})
	// A user oToMessages/batchSend reports in invalidStaffIdList, or in
	// flowControlledStaffIdList for its next n calls.
	mux.HandleFunc("POST /sim/v1/users/{id}/invalid", func(w http.ResponseWriter, r *http.Request) {
		s.SetInvalidUser(r.PathValue("id"))
		ctlJSON(w, http.StatusOK, map[string]string{"status": "invalid"})
	})
	mux.HandleFunc("POST /sim/v1/users/{id}/filtered", func(w http.ResponseWriter, r *http.Request) {
		s.FilterUser(r.PathValue("id"))
		ctlJSON(w, http.StatusOK, map[string]string{"status": "filtered"})
	})
	mux.HandleFunc("POST /sim/v1/users/{id}/flow-control", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Count int `json:"count"`
		}
		if !ctlDecode(w, r, &req) {
			return
		}
		if req.Count < 1 {
			ctlError(w, http.StatusBadRequest, "count (the calls that flow-control this user) must be at least 1")
			return
		}
		s.FlowControlUser(r.PathValue("id"), req.Count)
		ctlJSON(w, http.StatusOK, map[string]any{"status": "flow-controlled", "count": req.Count})
	})
	mux.HandleFunc("POST /sim/v1/tokens/revoke", func(w http.ResponseWriter, r *http.Request) {
		s.RevokeTokens()
		ctlJSON(w, http.StatusOK, map[string]string{"status": "revoked"})
	})
	mux.HandleFunc("POST /sim/v1/robots/{code}/state", s.ctlRobotState)
	mux.HandleFunc("POST /sim/v1/clock/advance", s.ctlAdvance)
	mux.HandleFunc("POST /sim/v1/redeliver", func(w http.ResponseWriter, r *http.Request) {
		s.RedeliverNow()
		ctlJSON(w, http.StatusOK, map[string]string{"status": "redelivered"})
	})
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func ctlError(w http.ResponseWriter, status int, msg string) {
	ctlJSON(w, status, map[string]string{"error": msg})
}

// ctlDecode reads a JSON body into v, answering 400 when it cannot.
func ctlDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBodySize))
	if err := json.Unmarshal(b, v); err != nil {
		ctlError(w, http.StatusBadRequest, "body must be a JSON object: "+err.Error())
		return false
	}
	return true
}

// maxReplyWait bounds ?wait= on a user's message.
const maxReplyWait = time.Minute

func (s *Server) ctlPostMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SenderStaffID    string `json:"senderStaffId"`
		SenderNick       string `json:"senderNick"`
		Text             string `json:"text"`
		ConversationType string `json:"conversationType"`
		MsgType          string `json:"msgtype"`
		IsAdmin          bool   `json:"isAdmin"`
		AtBot            *bool  `json:"atBot"`
		RawData          string `json:"rawData"`
	}
	wait, settle, err := replyWait(r)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !ctlDecode(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	if id == "-" {
		id = "" // the sender's 1:1 chat, whatever its id
	}
	m := UserMessage{
		ConversationID: id, ConversationType: req.ConversationType,
		SenderStaffID: req.SenderStaffID, SenderNick: req.SenderNick, Text: req.Text,
		MsgType: req.MsgType, IsAdmin: req.IsAdmin, Unmentioned: req.AtBot != nil && !*req.AtBot,
		RawData: req.RawData,
	}
	msgID, convID, err := s.pushMessage(m)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := postedMessage{MsgID: msgID, ConversationID: convID}
	if wait > 0 {
		if m.ConversationType == "2" && m.Unmentioned {
			wait = 0 // not pushed to the bot: nothing will answer it
		}
		out.Replies = s.awaitReplies(r.Context(), convID, msgID, wait, settle)
	}
	ctlJSON(w, http.StatusOK, out)
}

// postedMessage is the control API's answer to a user's message.
type postedMessage struct {
	MsgID          string `json:"msgId"`
	ConversationID string `json:"conversationId"`
	// Replies are the bot's messages in the chat after this one, with
	// ?wait= only (then never null).
	Replies []Message `json:"replies,omitzero"`
}

// replyWait reads ?wait= (how long to wait for the bot's first reply) and
// ?settle= (how long to go on waiting for more after each reply).
func replyWait(r *http.Request) (wait, settle time.Duration, err error) {
	q := r.URL.Query()
	parse := func(name string) (time.Duration, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxReplyWait {
			return 0, fmt.Errorf("%s is a Go duration up to %s, such as 5s", name, maxReplyWait)
		}
		return d, nil
	}
	if wait, err = parse("wait"); err != nil {
		return 0, 0, err
	}
	if settle, err = parse("settle"); err != nil {
		return 0, 0, err
	}
	return wait, settle, nil
}

// awaitReplies waits, at most wait, until the bot has answered msgID in
// its chat, then for each further reply at most settle more; it returns
// the bot's messages after msgID (an empty list if none came). It wakes on
// the emulator's change notifications, never on a timer of its own.
func (s *Server) awaitReplies(ctx context.Context, convID, msgID string, wait, settle time.Duration) []Message {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	n := 0
	for {
		have := n
		wctx, stop := ctx, context.CancelFunc(func() {})
		if have > 0 {
			if settle <= 0 {
				break
			}
			wctx, stop = context.WithTimeout(ctx, settle)
		}
		err := s.WaitUntil(wctx, func() bool {
			n = 0
			s.eachReply(convID, msgID, func(*Message) { n++ })
			return n > have
		})
		stop()
		if err != nil {
			break
		}
	}
	out := []Message{}
	s.eachReply(convID, msgID, func(m *Message) {
		cp := *m
		cp.ReadBy = append([]Read(nil), m.ReadBy...)
		out = append(out, cp)
	})
	return out
}

// eachReply calls f, under s.mu, with each bot message after user message
// msgID in chat convID, oldest first.
func (s *Server) eachReply(convID, msgID string, f func(*Message)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[convID]
	if !ok {
		return
	}
	i := len(c.msgs) - 1
	for i >= 0 && c.msgs[i].MsgID != msgID {
		i--
	}
	if i < 0 {
		return
	}
	for _, m := range c.msgs[i+1:] {
		if m.FromBot() {
			f(m)
		}
	}
}

func (s *Server) ctlGetConversation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.Conversation(r.PathValue("id"))
	if !ok {
		ctlError(w, http.StatusNotFound, "no such conversation")
		return
	}
	ctlJSON(w, http.StatusOK, c)
}

func (s *Server) ctlAddConversation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID          string `json:"conversationId"`
		Kind        Kind   `json:"kind"`
		Title       string `json:"title"`
		CoolAppCode string `json:"coolAppCode"` // a group's: sends there must carry it
	}
	if !ctlDecode(w, r, &req) {
		return
	}
	err := s.AddConversation(req.ID, req.Kind, req.Title)
	if err == nil && req.CoolAppCode != "" {
		err = s.RequireGroupCoolApp(req.ID, req.CoolAppCode)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err.Error())
		return
	}
	c, _ := s.Conversation(req.ID)
	ctlJSON(w, http.StatusOK, c)
}

func (s *Server) ctlConnection(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var err error
	switch r.PathValue("action") {
	case "disconnect":
		err = s.Disconnect(id)
	case "zombie":
		err = s.Zombie(id)
	case "kill":
		err = s.Kill(id)
	case "ping":
		err = s.Ping(r.Context(), id)
	default:
		ctlError(w, http.StatusNotFound, "actions are disconnect, zombie, kill and ping")
		return
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctlJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) ctlFault(w http.ResponseWriter, r *http.Request) {
	var req struct {
		API    string    `json:"api"`
		Kind   FaultKind `json:"kind"`
		Count  int       `json:"count"`
		Key    string    `json:"processQueryKey"`
		Reason string    `json:"reason"`
		Frames string    `json:"frames"` // "drop", "duplicate" or "drop-ack"
		Delay  string    `json:"delay"`  // for kind "slow" and "late": a Go duration
	}
	if !ctlDecode(w, r, &req) {
		return
	}
	if req.Count <= 0 {
		req.Count = 1
	}
	switch {
	case req.Key != "":
		if req.Reason == "" {
			req.Reason = "SYSTEM_ERROR"
		}
		s.FailKey(req.Key, req.Reason, req.Count)
	case req.Frames == "drop":
		s.DropFrames(req.Count)
	case req.Frames == "duplicate":
		s.DuplicateFrames(req.Count)
	case req.Frames == "drop-ack":
		s.DropACKs(req.Count)
	case req.Frames != "":
		ctlError(w, http.StatusBadRequest, `frames is "drop", "duplicate" or "drop-ack"`)
		return
	default:
		path, ok := faultPath(req.API)
		if !ok {
			ctlError(w, http.StatusBadRequest, fmt.Sprintf("api %q is not an API the emulator answers: give one of %s, its full path, or \"*\" for every API", req.API, strings.Join(faultAPINames(), ", ")))
			return
		}
		req.API = path
		switch req.Kind {
		case FaultServerError, FaultUnavailable, FaultQPS, FaultGarbage, FaultHang:
			s.Fail(req.API, req.Kind, req.Count)
		case "slow", "late":
			d, err := time.ParseDuration(req.Delay)
			if err != nil || d <= 0 {
				ctlError(w, http.StatusBadRequest, `kinds "slow" and "late" need "delay", a positive duration such as "3s"`)
				return
			}
			if req.Kind == "slow" {
				s.Delay(req.API, d, req.Count)
			} else {
				s.DelayAnswer(req.API, d, req.Count)
			}
		default:
			ctlError(w, http.StatusBadRequest, `kind is "5xx", "503", "qps", "garbage", "hang", "slow" or "late"`)
			return
		}
	}
	ctlJSON(w, http.StatusOK, map[string]string{"status": "armed"})
}

func (s *Server) ctlRobotState(w http.ResponseWriter, r *http.Request) {
	var req struct {
		State RobotState `json:"state"`
	}
	if !ctlDecode(w, r, &req) {
		return
	}
	switch req.State {
	case RobotActive, RobotStopped, RobotTemplateMissing, RobotTemplateStopped, RobotUnauthorized, RobotDeleted:
	default:
		ctlError(w, http.StatusBadRequest, "state is active, stopped, template_missing, template_stopped, unauthorized or deleted")
		return
	}
	if err := s.SetRobotState(r.PathValue("code"), req.State); err != nil {
		ctlError(w, http.StatusNotFound, err.Error())
		return
	}
	ctlJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) ctlAdvance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Duration string `json:"duration"`
	}
	if !ctlDecode(w, r, &req) {
		return
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil || d < 0 {
		ctlError(w, http.StatusBadRequest, `duration is a positive Go duration such as "25h"`)
		return
	}
	s.Advance(d)
	ctlJSON(w, http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339)})
}
