// Package stream connects recallbot to DingTalk's Stream mode: an outbound
// WebSocket over which DingTalk pushes the messages users send the bot. It
// is the only package that sees the Stream SDK's types: it decodes each
// bot callback into a Message, acknowledges it once queued, and hands it
// to a bounded pool of workers that run it on the bot's own context,
// urgent messages (an admin's) ahead of the rest. It keeps the
// connection's state for readiness checks.
package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/payload"
	"go.uber.org/zap"
)

// Config configures the Stream connection.
type Config struct {
	ClientID, ClientSecret string
	// APIBase is the gateway host (the OpenAPI host); default DingTalk's.
	APIBase string
	// KeepAlive is the socket idle time before the SDK pings; default 60 s (see config.DingTalk.KeepAlive).
	KeepAlive time.Duration
	// Workers run commands; default 8.
	Workers int
	// Queue holds acknowledged commands waiting for a worker; default
	// 10,000, and up to maxUrgent more for urgent ones. When it is full,
	// frames wait unacknowledged, and DingTalk redelivers what waits too
	// long.
	Queue int
	// Urgent, when set, tells which messages go ahead of every other one
	// waiting for a worker (the app: an admin's). It runs on the SDK's
	// frame goroutine, so it must be quick and must not block.
	Urgent func(Message) bool
	// RetryMin and RetryMax bound the wait between attempts to connect at
	// start, while DingTalk cannot be reached: it starts at RetryMin and
	// doubles up to RetryMax. Defaults 3 s and 60 s (the SDK's own
	// reconnect backoff).
	RetryMin, RetryMax time.Duration
	// OnMalformed, when set, hears of each frame that is not a bot
	// callback recallbot can read (the app audits it).
	OnMalformed func(messageID string, err error)
	// Status, when set, is where the Listener keeps the connection's
	// state; default one of its own.
	Status *Status
}

// maxUrgent bounds the urgent queue: admins are few, and a buffer is
// allocated whole.
const maxUrgent = 1000

// Listener receives bot messages through Stream mode and hands each to a
// bounded pool of workers. It ACKs a frame as soon as the message is
// queued (the SDK ACKs when our frame handler returns), and runs commands
// on its own context: the SDK cancels a handler's context when its socket
// drops, and its Close does not wait for handlers.
type Listener struct {
	cfg    Config
	handle func(context.Context, Message)
	log    *zap.Logger
	cli    *client.StreamClient

	mu     sync.RWMutex // held for reading while a frame handler queues
	closed bool
	jobs   chan Message // waiting for a worker
	urgent chan Message // waiting for a worker, ahead of jobs

	workCtx    context.Context
	cancelWork context.CancelFunc
	wg         sync.WaitGroup // workers
	connecting sync.WaitGroup // the connect loop at start
	status     *Status        // this listener's connection
}

// NewListener returns a Listener that passes each message to handle.
func NewListener(cfg Config, handle func(context.Context, Message), log *zap.Logger) *Listener {
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 60 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 10_000
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 3 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Minute
	}
	if cfg.Status == nil {
		cfg.Status = new(Status)
	}
	l := &Listener{cfg: cfg, handle: handle, log: log.Named("stream"), jobs: make(chan Message, cfg.Queue),
		urgent: make(chan Message, min(cfg.Queue, maxUrgent)), status: cfg.Status}
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

// Start starts the workers and connects. If DingTalk cannot be reached, it
// does not fail: it logs why, keeps trying in the background with backoff
// (RetryMin doubling to RetryMax, jittered) until it connects or Stop is
// called, and Connected reports false meanwhile. Once connected, the SDK
// reconnects by itself. A gateway that refuses the credentials is not an
// outage: Start returns ErrBadCredentials.
func (l *Listener) Start(ctx context.Context) error {
	for range l.cfg.Workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.work()
		}()
	}
	listeners.add(l)
	err := l.cli.Start(ctx)
	if err == nil {
		l.connected()
		return nil
	}
	if refusesCredentials(err) {
		return ErrBadCredentials
	}
	l.log.Error("stream: cannot connect to DingTalk yet; retrying in the background (check dingtalk.api_base, client_id and client_secret)", zap.Error(err))
	l.connecting.Add(1)
	go func() {
		defer l.connecting.Done()
		l.connectLoop()
	}()
	return nil
}

// connectLoop retries the first connection until it succeeds or Stop.
func (l *Listener) connectLoop() {
	wait := l.cfg.RetryMin
	for {
		t := time.NewTimer(wait + rand.N(wait/5+1))
		select {
		case <-l.workCtx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if l.stopped() {
			return
		}
		err := l.cli.Start(l.workCtx)
		if err == nil {
			l.connected()
			return
		}
		if l.workCtx.Err() != nil {
			return
		}
		if refusesCredentials(err) { // reached at last, and refused: say which setting to fix, and keep trying
			l.log.Error("stream: dingtalk.client_id or dingtalk.client_secret is wrong: DingTalk answered invalidClientIdOrSecret", zap.Duration("next_try", wait))
		} else {
			l.log.Warn("stream: still cannot connect to DingTalk", zap.Error(err), zap.Duration("next_try", wait))
		}
		wait = min(wait*2, l.cfg.RetryMax)
	}
}

func (l *Listener) connected() {
	l.status.up.Store(true)
	l.log.Info("stream connected")
}

// work runs queued messages until both queues are closed and empty,
// taking an urgent one whenever one waits.
func (l *Listener) work() {
	urgent, jobs := l.urgent, l.jobs
	for urgent != nil || jobs != nil {
		var m Message
		var ok bool
		select {
		case m, ok = <-urgent:
		default:
			select {
			case m, ok = <-urgent:
			case m, ok = <-jobs:
				if !ok {
					jobs = nil
					continue
				}
			}
		}
		if !ok {
			urgent = nil
			continue
		}
		l.run(m)
	}
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
	return !l.stopped() && l.status.up.Load()
}

func (l *Listener) stopped() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed
}

// Stop closes the connection (no more intake), then waits for queued and
// running commands until ctx ends, when it cancels them.
func (l *Listener) Stop(ctx context.Context) error {
	l.mu.Lock()
	already := l.closed
	if !l.closed {
		l.closed = true
		l.status.stopped.Store(true)
		close(l.jobs)
		close(l.urgent)
	}
	l.mu.Unlock()
	if !already {
		listeners.stopping(l) // the SDK's complaints about its closing socket are expected now
		l.cli.Close()
	}
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		l.cancelWork()
		<-done
		err = fmt.Errorf("stream stop: commands cut short: %w", ctx.Err())
	}
	l.cancelWork() // ends the connect loop, if it still runs
	l.connecting.Wait()
	l.cli.Close() // a connection the loop made after all
	listeners.remove(l)
	return err
}

// onFrame is the SDK's frame handler: decode, queue, return (the SDK then
// ACKs). A malformed frame is logged, reported to OnMalformed, never run,
// and ACKed as received: DingTalk would only deliver it again, unchanged.
func (l *Listener) onFrame(ctx context.Context, df *payload.DataFrame) (*payload.DataFrameResponse, error) {
	l.status.up.Store(true) // a frame came in: the connection is up
	m, err := DecodeCallback(df.Data)
	if err != nil {
		l.log.Warn("malformed bot callback", zap.String("message_id", df.GetMessageId()), zap.Error(err))
		if l.cfg.OnMalformed != nil {
			l.cfg.OnMalformed(df.GetMessageId(), err)
		}
		return payload.NewSuccessDataFrameResponse(), nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, errors.New("shutting down") // unACKed (the socket is closing): DingTalk redelivers
	}
	q := l.jobs
	if l.cfg.Urgent != nil && l.cfg.Urgent(m) {
		q = l.urgent
	}
	select {
	case q <- m:
		return payload.NewSuccessDataFrameResponse(), nil
	case <-ctx.Done(): // the socket dropped: no ACK, DingTalk redelivers
		return nil, ctx.Err()
	}
}
