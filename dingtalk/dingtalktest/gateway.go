package dingtalktest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// TopicBotMessage is the CALLBACK topic of messages sent to the bot.
const TopicBotMessage = "/v1.0/im/bot/messages/get"

type ticket struct {
	app     *app
	topics  map[string]bool // "TYPE topic"
	expires time.Time
	used    bool
}

// handleGatewayOpen answers POST /v1.0/gateway/connections/open (docs/dingtalk.md §7.1).
func (s *Server) handleGatewayOpen(e *exchange) {
	var req struct {
		ClientID      string `json:"clientId"`
		ClientSecret  string `json:"clientSecret"`
		Subscriptions []struct {
			Type  string `json:"type"`
			Topic string `json:"topic"`
		} `json:"subscriptions"`
	}
	if !e.decode(&req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[req.ClientID]
	if !ok || req.ClientSecret == "" || a.ClientSecret != req.ClientSecret {
		e.fail(http.StatusBadRequest, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
		return
	}
	if len(req.Subscriptions) == 0 {
		e.fail(http.StatusBadRequest, "invalidParameter.subscriptions", "subscriptions不能为空")
		return
	}
	t := &ticket{app: a, topics: map[string]bool{}, expires: s.opts.Now().Add(s.offset).Add(s.opts.TicketTTL)}
	for _, sub := range req.Subscriptions {
		t.topics[sub.Type+" "+sub.Topic] = true
	}
	id := uuid()
	s.tickets[id] = t
	e.reply(map[string]string{"endpoint": "ws://" + s.listener.Addr().String() + PathConnect, "ticket": id})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// handleConnect upgrades GET /connect?ticket=… to the Stream WebSocket.
func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("ticket")
	s.mu.Lock()
	t, ok := s.tickets[id]
	var problem string
	switch {
	case !ok:
		problem = "ticket不存在"
	case t.used:
		problem = "ticket已被使用"
	case !s.opts.Now().Add(s.offset).Before(t.expires):
		problem = "ticket已过期"
	default:
		t.used = true
	}
	s.mu.Unlock()
	if problem != "" {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		b, _ := json.Marshal(map[string]string{"code": "invalidTicket", "requestid": uuid(), "message": problem})
		_, _ = w.Write(b)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &wsConn{
		id:     uuid(),
		app:    t.app,
		topics: t.topics,
		ws:     ws,
		send:   make(chan []byte, 8192),
		done:   make(chan struct{}),
		pings:  map[string]chan string{},
	}
	s.stream.add(s, c)
}

// wsConn is one Stream connection of an app.
type wsConn struct {
	id     string
	app    *app
	topics map[string]bool
	ws     *websocket.Conn
	send   chan []byte
	done   chan struct{} // closed when the connection is gone

	// Guarded by Server.mu.
	zombie   bool
	draining bool
	closed   bool
	pings    map[string]chan string // ping messageId -> echoed data
}

func (c *wsConn) subscribed(typ, topic string) bool {
	return c.topics[typ+" "+topic] || (typ == "EVENT" && c.topics["EVENT *"])
}

// writeLoop is the connection's only writer (gorilla/websocket allows one).
func (s *Server) writeLoop(c *wsConn) {
	defer s.wg.Done()
	for {
		select {
		case b := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				_ = c.ws.Close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// readLoop reads the client's ACKs until the socket closes.
func (s *Server) readLoop(c *wsConn) {
	defer s.wg.Done()
	defer s.stream.remove(s, c)
	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		var ack struct {
			Code    int               `json:"code"`
			Headers map[string]string `json:"headers"`
			Message string            `json:"message"`
			Data    string            `json:"data"`
		}
		if err := json.Unmarshal(b, &ack); err != nil {
			s.logf("emulator: conn %s sent a frame that is not JSON: %.80q", c.id, b)
			continue
		}
		s.stream.ack(s, c, ack.Headers["messageId"], ack.Code, ack.Message, ack.Data)
	}
}

// pingLoop sends a SYSTEM ping to every connection at each interval.
func (s *Server) pingLoop(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			for _, c := range s.Connections() {
				s.sendPing(c.ID)
			}
		case <-s.closed:
			return
		}
	}
}
