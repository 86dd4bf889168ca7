package dingtalktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DropFrames makes the next n application frames vanish on the wire: they
// stay unacknowledged and are redelivered after ACKTimeout (or RedeliverNow).
func (s *Server) DropFrames(n int) {
	s.mu.Lock()
	s.stream.dropFrames += n
	s.notifyLocked()
	s.mu.Unlock()
}

// DuplicateFrames makes the next n application frames arrive twice.
func (s *Server) DuplicateFrames(n int) {
	s.mu.Lock()
	s.stream.dupFrames += n
	s.notifyLocked()
	s.mu.Unlock()
}

// DropACKs makes the server ignore the next n ACKs, so those frames are
// redelivered although the client answered.
func (s *Server) DropACKs(n int) {
	s.mu.Lock()
	s.stream.dropACKs += n
	s.notifyLocked()
	s.mu.Unlock()
}

// Connections lists the live Stream connections.
func (s *Server) Connections() []ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ConnInfo, 0, len(s.stream.order))
	for _, id := range s.stream.order {
		c := s.stream.conns[id]
		out = append(out, ConnInfo{ID: c.id, ClientID: c.app.ClientID, Zombie: c.zombie, Draining: c.draining})
	}
	return out
}

// StreamStats reports the Stream counters.
func (s *Server) StreamStats() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.stats
}

// Delivery reports the fate of the bot-message frame carrying msgID.
func (s *Server) Delivery(msgID string) (Delivery, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.stream.byMsgID[msgID]
	if !ok {
		return Delivery{}, false
	}
	_, pending := s.stream.pending[d.messageID]
	for _, u := range s.stream.undelivered {
		pending = pending || u == d
	}
	return Delivery{MsgID: msgID, Attempts: d.attempts, ACKs: d.acks, Pending: pending, LastConn: d.lastConn}, true
}

// Disconnect sends SYSTEM disconnect on a connection, stops routing frames to
// it and closes it after DisconnectGrace (docs/dingtalk.md §7.5).
func (s *Server) Disconnect(connID string) error {
	s.mu.Lock()
	c, ok := s.stream.conns[connID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("emulator: no connection %q", connID)
	}
	c.draining = true
	s.notifyLocked()
	s.mu.Unlock()
	d := &delivery{app: c.app, typ: "SYSTEM", topic: "disconnect", messageID: newMessageID(), data: `{"reason":"connection is expired"}`}
	s.writeSystem(c, d)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(s.opts.DisconnectGrace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.done:
		case <-s.closed:
		}
		_ = c.ws.Close()
	}()
	return nil
}

// Kill closes a connection's socket at once, without a disconnect frame, as
// a network failure would.
func (s *Server) Kill(connID string) error {
	s.mu.Lock()
	c, ok := s.stream.conns[connID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("emulator: no connection %q", connID)
	}
	return c.ws.Close()
}

// Zombie turns a connection into a zombie: the socket stays open but the
// server stops writing frames to it and stops answering its WebSocket pings.
// Frames routed to it are lost until redelivered elsewhere.
func (s *Server) Zombie(connID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.stream.conns[connID]
	if !ok {
		return fmt.Errorf("emulator: no connection %q", connID)
	}
	c.zombie = true
	s.notifyLocked()
	return nil
}

func (s *Server) writeSystem(c *wsConn, d *delivery) {
	s.mu.Lock()
	zombie := c.zombie
	s.mu.Unlock()
	if zombie {
		return // a zombie writes nothing, pings included: the client must notice the silence
	}
	b := d.frame(c.id, s.now())
	select {
	case c.send <- b:
	case <-c.done:
	}
}

// Ping sends a SYSTEM ping with a fresh opaque to a connection and waits for
// the client to echo it.
func (s *Server) Ping(ctx context.Context, connID string) error {
	ch, err := s.sendPing(connID)
	if err != nil {
		return err
	}
	select {
	case _, ok := <-ch:
		if !ok {
			return errors.New("emulator: connection closed before the ping was answered")
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("emulator: ping not answered: %w", ctx.Err())
	}
}

// sendPing writes a ping and returns a channel that receives the echo; the
// echo must carry the same opaque or the channel is closed without a value.
func (s *Server) sendPing(connID string) (<-chan string, error) {
	opaque := randomID(8)
	data := `{"opaque":"` + opaque + `"}`
	s.mu.Lock()
	c, ok := s.stream.conns[connID]
	if !ok || c.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("emulator: no connection %q", connID)
	}
	d := &delivery{app: c.app, typ: "SYSTEM", topic: "ping", messageID: newMessageID(), data: data}
	raw := make(chan string, 1)
	c.pings[d.messageID] = raw
	s.mu.Unlock()
	s.writeSystem(c, d)
	out := make(chan string, 1)
	go func() {
		defer close(out)
		echo, ok := <-raw
		if !ok {
			return
		}
		var got struct {
			Opaque string `json:"opaque"`
		}
		if json.Unmarshal([]byte(echo), &got) == nil && got.Opaque == opaque {
			out <- echo
		}
	}()
	return out, nil
}
