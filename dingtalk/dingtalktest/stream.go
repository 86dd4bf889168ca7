package dingtalktest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// streamState is the Stream side of the server; guarded by Server.mu.
type streamState struct {
	conns       map[string]*wsConn
	order       []string             // connection ids, for stable random choice
	pending     map[string]*delivery // unacknowledged frames by messageId
	byMsgID     map[string]*delivery // every bot-message frame by data.msgId
	undelivered []*delivery          // frames waiting for a connection
	dropFrames  int
	dupFrames   int
	dropACKs    int
	stats       StreamStats
	frameLog    [frameLogSize]FrameEvent // a ring: the last frameLogSize events
	frameN      int                      // events ever logged
}

// frameLogSize bounds the frame log the console shows.
const frameLogSize = 512

// FrameEvent is one thing that happened to an application frame on the
// Stream side, kept (the last 512) so the console can show the frames live.
type FrameEvent struct {
	Time time.Time `json:"time"`
	// Event is "pushed", "redelivered", "duplicated", "dropped" (DropFrames
	// or a zombie), "queued" (no live connection), "acked", "nacked",
	// "ack-dropped" (DropACKs) or "lost" (past MaxRedeliveries).
	Event     string `json:"event"`
	MessageID string `json:"messageId"` // headers.messageId
	MsgID     string `json:"msgId"`     // data.msgId of the bot callback
	Conn      string `json:"connection,omitempty"`
	Attempt   int    `json:"attempt,omitempty"` // the push it concerns, 1 for the first
	Label     string `json:"label,omitempty"`   // who said what, shortened
}

// logFrameLocked appends ev to the ring. s.mu must be held.
func (s *Server) logFrameLocked(event string, d *delivery, conn string) {
	st := &s.stream
	st.frameLog[st.frameN%frameLogSize] = FrameEvent{Time: s.opts.Now().Add(s.offset), Event: event,
		MessageID: d.messageID, MsgID: d.msgID, Conn: conn, Attempt: d.attempts, Label: d.label}
	st.frameN++
}

// FrameEvents returns the last 512 frame events, oldest first.
func (s *Server) FrameEvents() []FrameEvent { return s.frameEvents(frameLogSize) }

// frameEvents returns the last n frame events, oldest first.
func (s *Server) frameEvents(n int) []FrameEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stream
	n = min(n, st.frameN, frameLogSize)
	out := make([]FrameEvent, n)
	for i := range n {
		out[i] = st.frameLog[(st.frameN-n+i)%frameLogSize]
	}
	return out
}

// StreamStats counts what happened on the Stream side.
type StreamStats struct {
	Pushed      int `json:"pushed"`      // application frames written, redeliveries included
	ACKed       int `json:"acked"`       // frames acknowledged with code 200
	NACKed      int `json:"nacked"`      // ACKs with another code (the frame stays pending)
	Redelivered int `json:"redelivered"` // pushes after the first
	Lost        int `json:"lost"`        // frames given up after MaxRedeliveries
	Dropped     int `json:"dropped"`     // frames swallowed by DropFrames or a zombie
	Connections int `json:"connections"` // live connections now
}

func (st *streamState) init() {
	st.conns = map[string]*wsConn{}
	st.pending = map[string]*delivery{}
	st.byMsgID = map[string]*delivery{}
}

// delivery is one application frame and its delivery attempts.
type delivery struct {
	app       *app
	typ       string
	topic     string
	messageID string
	msgID     string
	data      string
	label     string // for the frame log: who said what
	attempts  int
	acks      int
	lastConn  string
	timer     *time.Timer
}

// Delivery is a snapshot of a bot-message frame's fate.
type Delivery struct {
	MsgID    string `json:"msgId"`
	Attempts int    `json:"attempts"` // pushes, the first included
	ACKs     int    `json:"acks"`     // code-200 ACKs received
	Pending  bool   `json:"pending"`  // still waiting for an ACK
	LastConn string `json:"lastConnection"`
}

// ConnInfo describes a live Stream connection.
type ConnInfo struct {
	ID       string `json:"id"`
	ClientID string `json:"clientId"`
	Zombie   bool   `json:"zombie"`
	Draining bool   `json:"draining"`
}

func (st *streamState) add(s *Server, c *wsConn) {
	s.mu.Lock()
	select {
	case <-s.closed: // Close is waiting for the connections it knows: this one never starts
		s.mu.Unlock()
		_ = c.ws.Close()
		return
	default:
	}
	s.wg.Add(2) // under s.mu, so never after Close has started waiting
	st.conns[c.id] = c
	st.order = append(st.order, c.id)
	st.stats.Connections = len(st.conns)
	queued := st.undelivered
	st.undelivered = nil
	s.notifyLocked()
	s.mu.Unlock()
	s.logf("emulator: stream connection %s open for %s", c.id, c.app.ClientID)
	c.ws.SetPingHandler(func(data string) error {
		s.mu.Lock()
		z := c.zombie
		s.mu.Unlock()
		if z {
			return nil // a zombie never answers
		}
		return c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go s.writeLoop(c)
	go s.readLoop(c)
	for _, d := range queued {
		s.push(d)
	}
}

func (st *streamState) remove(s *Server, c *wsConn) {
	s.mu.Lock()
	if c.closed {
		s.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	delete(st.conns, c.id)
	for i, id := range st.order {
		if id == c.id {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
	st.stats.Connections = len(st.conns)
	for _, ch := range c.pings {
		close(ch)
	}
	c.pings = nil
	s.notifyLocked()
	s.mu.Unlock()
	_ = c.ws.Close()
	s.logf("emulator: stream connection %s closed", c.id)
}

func (st *streamState) closeAll(s *Server) {
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(st.conns))
	for _, c := range st.conns {
		conns = append(conns, c)
	}
	for _, d := range st.pending {
		d.timer.Stop()
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
}

// pickLocked chooses a live connection of the app subscribed to the frame,
// at random, as DingTalk does (docs/dingtalk.md §7.6). Zombies count: the real platform
// cannot tell them apart either.
func (st *streamState) pickLocked(d *delivery) *wsConn {
	var cands []*wsConn
	for _, id := range st.order {
		c := st.conns[id]
		if c.app == d.app && !c.draining && c.subscribed(d.typ, d.topic) {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[rand.IntN(len(cands))]
}

func (d *delivery) frame(connID string, now time.Time) []byte {
	b, _ := json.Marshal(struct {
		SpecVersion string            `json:"specVersion"`
		Type        string            `json:"type"`
		Headers     map[string]string `json:"headers"`
		Data        string            `json:"data"`
	}{"1.0", d.typ, map[string]string{
		"appId":        d.app.appID,
		"connectionId": connID,
		"contentType":  "application/json",
		"messageId":    d.messageID,
		"time":         strconv.FormatInt(now.UnixMilli(), 10),
		"topic":        d.topic,
	}, d.data})
	return b
}

// push writes d to a connection and arms its ACK timer.
func (s *Server) push(d *delivery) {
	s.mu.Lock()
	st := &s.stream
	c := st.pickLocked(d)
	if c == nil {
		st.undelivered = append(st.undelivered, d)
		s.logFrameLocked("queued", d, "")
		s.notifyLocked()
		s.mu.Unlock()
		return
	}
	d.attempts++
	if d.attempts > 1 {
		st.stats.Redelivered++
	}
	d.lastConn = c.id
	st.pending[d.messageID] = d
	mid := d.messageID
	if d.timer != nil {
		d.timer.Stop()
	}
	d.timer = time.AfterFunc(s.opts.ACKTimeout, func() { s.redeliver(mid) })
	copies := 1
	event := "pushed"
	if d.attempts > 1 {
		event = "redelivered"
	}
	switch {
	case c.zombie:
		copies = 0
		st.stats.Dropped++
		event = "dropped"
	case st.dropFrames > 0:
		st.dropFrames--
		copies = 0
		st.stats.Dropped++
		event = "dropped"
	case st.dupFrames > 0:
		st.dupFrames--
		copies = 2
		event = "duplicated"
	}
	st.stats.Pushed += copies
	s.logFrameLocked(event, d, c.id)
	b := d.frame(c.id, s.opts.Now().Add(s.offset))
	s.notifyLocked()
	s.mu.Unlock()
	for range copies {
		select {
		case c.send <- b:
		case <-c.done:
		}
	}
}

// redeliver pushes a frame again if it is still unacknowledged.
func (s *Server) redeliver(messageID string) {
	s.mu.Lock()
	d, ok := s.stream.pending[messageID]
	if !ok {
		s.mu.Unlock()
		return
	}
	delete(s.stream.pending, messageID)
	if s.opts.MaxRedeliveries < 0 || d.attempts > s.opts.MaxRedeliveries {
		s.stream.stats.Lost++
		s.logFrameLocked("lost", d, d.lastConn)
		s.notifyLocked()
		s.mu.Unlock()
		s.logf("emulator: frame %s (msgId %s) lost after %d pushes", messageID, d.msgID, d.attempts)
		return
	}
	if s.opts.NewMessageIDOnRedelivery {
		d.messageID = newMessageID()
	}
	s.mu.Unlock()
	select {
	case <-s.closed:
		return
	default:
	}
	s.push(d)
}

// RedeliverNow pushes every unacknowledged frame again at once, as if its
// ACK timeout had passed. Tests use it instead of waiting ACKTimeout.
func (s *Server) RedeliverNow() {
	s.mu.Lock()
	ids := make([]string, 0, len(s.stream.pending))
	for id, d := range s.stream.pending {
		d.timer.Stop()
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.redeliver(id)
	}
}

func (st *streamState) ack(s *Server, c *wsConn, messageID string, code int, message, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := c.pings[messageID]; ok {
		delete(c.pings, messageID)
		ch <- data
		close(ch)
		return
	}
	d, ok := st.pending[messageID]
	if !ok {
		return // a late or duplicate ACK
	}
	if st.dropACKs > 0 {
		st.dropACKs--
		s.logFrameLocked("ack-dropped", d, c.id)
		s.notifyLocked()
		return
	}
	if code != 200 {
		st.stats.NACKed++
		s.logFrameLocked("nacked", d, c.id)
		s.notifyLocked()
		s.logf("emulator: frame %s answered %d %s", messageID, code, message)
		return
	}
	d.timer.Stop()
	delete(st.pending, messageID)
	d.acks++
	st.stats.ACKed++
	s.logFrameLocked("acked", d, c.id)
	s.notifyLocked()
}

func newMessageID() string {
	return fmt.Sprintf("%s_%s_%x_%s", randomID(4), randomID(2), time.Now().UnixNano(), randomID(3))
}
