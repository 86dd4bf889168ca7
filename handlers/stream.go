package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/payload"
	"go.uber.org/zap"
)

// StreamConfig configures the Stream connection.
type StreamConfig struct {
	ClientID, ClientSecret string
	// APIBase is the gateway host (the OpenAPI host); default DingTalk's.
	APIBase string
	// KeepAlive is the socket idle time before the SDK pings; default 120 s.
	KeepAlive time.Duration
	// Workers run commands; default 8.
	Workers int
	// Queue holds acknowledged commands waiting for a worker; default
	// 10,000. When it is full, frames wait unacknowledged, and DingTalk
	// redelivers what waits too long.
	Queue int
}

// Listener receives bot messages through Stream mode and hands each to a
// bounded pool of workers. It ACKs a frame as soon as the message is
// queued (the SDK ACKs when our frame handler returns), and runs commands
// on its own context: the SDK cancels a handler's context when its socket
// drops, and its Close does not wait for handlers.
type Listener struct {
	cfg    StreamConfig
	handle func(context.Context, Message)
	log    *zap.Logger
	cli    *client.StreamClient

	mu     sync.RWMutex // held for reading while a frame handler queues
	closed bool
	jobs   chan Message

	workCtx    context.Context
	cancelWork context.CancelFunc
	wg         sync.WaitGroup
	started    atomic.Bool
}

// NewListener returns a Listener that passes each message to handle.
func NewListener(cfg StreamConfig, handle func(context.Context, Message), log *zap.Logger) *Listener {
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 120 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 10_000
	}
	l := &Listener{cfg: cfg, handle: handle, log: log.Named("stream"), jobs: make(chan Message, cfg.Queue)}
	l.workCtx, l.cancelWork = context.WithCancel(context.Background())
	opts := []client.ClientOption{
		client.WithAppCredential(client.NewAppCredentialConfig(cfg.ClientID, cfg.ClientSecret)),
		client.WithKeepAlive(cfg.KeepAlive),
		// Our handler only queues, so a high cap never means many slow
		// goroutines; frames past it would wait for redelivery.
		client.WithMaxPendingHandlers(cfg.Queue),
	}
	if cfg.APIBase != "" {
		opts = append(opts, client.WithOpenApiHost(cfg.APIBase))
	}
	l.cli = client.NewStreamClient(opts...)
	l.cli.RegisterCallbackRouter(payload.BotMessageCallbackTopic, l.onFrame)
	return l
}

// Start connects and starts the workers. The SDK reconnects by itself,
// with backoff, until Stop.
func (l *Listener) Start(ctx context.Context) error {
	for range l.cfg.Workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for m := range l.jobs {
				l.run(m)
			}
		}()
	}
	if err := l.cli.Start(ctx); err != nil {
		return fmt.Errorf("stream connect: %w", err)
	}
	l.started.Store(true)
	sdkUp.Store(true)
	l.log.Info("stream connected")
	return nil
}

func (l *Listener) run(m Message) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("command panicked", zap.String("msg_id", m.MsgID), zap.Any("panic", r))
		}
	}()
	l.handle(l.workCtx, m)
}

// Connected reports whether the Stream connection is up.
func (l *Listener) Connected() bool {
	return l.started.Load() && !l.stopped() && sdkUp.Load()
}

func (l *Listener) stopped() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed
}

// Stop closes the connection (no more intake), then waits for queued and
// running commands until ctx ends, when it cancels them.
func (l *Listener) Stop(ctx context.Context) error {
	l.cli.Close()
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.jobs)
	}
	l.mu.Unlock()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		l.cancelWork()
		<-done
		return fmt.Errorf("stream stop: commands cut short: %w", ctx.Err())
	}
}

// callback is the bot-message body (spec §8). conversationType is
// documented as a string; some clients have seen numbers, so both parse.
type callback struct {
	MsgID            string          `json:"msgId"`
	ConversationID   string          `json:"conversationId"`
	ConversationType json.RawMessage `json:"conversationType"`
	SenderStaffID    string          `json:"senderStaffId"`
	SenderNick       string          `json:"senderNick"`
	MsgType          string          `json:"msgtype"`
	CreateAt         int64           `json:"createAt"`
	Text             struct {
		Content string `json:"content"`
	} `json:"text"`
}

// DecodeCallback turns a frame's data into a Message, or says what is
// wrong with it. Decoding is strict about the fields it reads: Go's JSON
// decoder matches keys without regard to case and lets a later key win,
// so a frame carrying both senderStaffId and senderStaffID would run as
// whoever the second one names. A field given twice, or spelled other than
// DingTalk spells it, is refused.
func DecodeCallback(data string) (Message, error) {
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
		SenderNick: cb.SenderNick, MsgType: cb.MsgType, Text: cb.Text.Content}
	if cb.CreateAt > 0 {
		m.CreateAt = time.UnixMilli(cb.CreateAt)
	}
	return m, nil
}

// onFrame is the SDK's frame handler: decode, queue, return (the SDK then
// ACKs). A malformed frame is logged and ACKed with an error, never run.
func (l *Listener) onFrame(ctx context.Context, df *payload.DataFrame) (*payload.DataFrameResponse, error) {
	m, err := DecodeCallback(df.Data)
	if err != nil {
		l.log.Warn("malformed bot callback", zap.String("message_id", df.GetMessageId()), zap.Error(err))
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, errors.New("shutting down") // unACKed (the socket is closing): DingTalk redelivers
	}
	select {
	case l.jobs <- m:
		return payload.NewSuccessDataFrameResponse(), nil
	case <-ctx.Done(): // the socket dropped: no ACK, DingTalk redelivers
		return nil, ctx.Err()
	}
}

// callbackKeys are the keys DecodeCallback reads, as DingTalk spells them;
// for "text", the keys of the object inside.
var callbackKeys = map[string][]string{
	"msgId": nil, "conversationId": nil, "conversationType": nil, "senderStaffId": nil, "senderNick": nil,
	"msgtype": nil, "createAt": nil, "text": {"content"},
}

// strictKeys checks that data is a JSON object in which every key that
// matches a wanted key without regard to case is spelled exactly as wanted
// and appears once (and likewise inside the nested objects wanted names).
func strictKeys(data []byte, wanted map[string][]string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("callback data is not a JSON object")
	}
	seen := map[string]bool{}
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
			switch {
			case key != w:
				return fmt.Errorf("callback field %q is not DingTalk's spelling %q", key, w)
			case seen[w]:
				return fmt.Errorf("callback field %q appears twice", w)
			}
			seen[w] = true
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
