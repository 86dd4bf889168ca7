// Package dingtalktest is an in-process DingTalk emulator for tests, the demo
// and `recallbot sim`, in the spirit of net/http/httptest and slack-go's
// slacktest.
//
// One Server speaks the real wire protocol on loopback:
//
//   - the Stream gateway: POST /v1.0/gateway/connections/open, then a
//     WebSocket at the returned endpoint carrying CALLBACK and SYSTEM frames
//     exactly as DingTalk sends them (docs/dingtalk.md §7, §8), with ACK tracking and
//     redelivery of unacknowledged frames;
//   - the OpenAPI: access tokens, the three send APIs and the three recall
//     APIs (docs/dingtalk.md §2–§4), with the error codes of the privateChatMessages/
//     batchRecall page and a per-app, per-API rate limit (docs/dingtalk.md §6);
//   - a control API under /sim/v1 so a person or program can play the users.
//
// Knobs inject the faults the real platform produces (5xx, 403 QPS, garbage
// bodies, hangs, per-key failures, revoked tokens, dropped or duplicated
// frames, disconnects, zombie connections, stopped bots) and inspection
// methods expose every OpenAPI call and every conversation as a user sees it.
//
// Where docs/dingtalk.md marks a behaviour inferred or unknown, the emulator makes it
// an Options field and documents the default it chose; see docs/emulator.md.
package dingtalktest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configures a Server. The zero value is usable: every field has a
// documented default.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0" (a free loopback port).
	Addr string

	// ClientID, ClientSecret, RobotCode and CoolAppCode describe the default
	// app. Defaults: "dingemulatorapp", "emulator-secret", "dingemulatorbot",
	// "COOLAPP-1-EMULATOR". More apps can be added with AddApp.
	ClientID     string
	ClientSecret string
	RobotCode    string
	CoolAppCode  string

	// TokenTTL is the access token lifetime reported in expireIn; default
	// 7200 s (documented).
	TokenTTL time.Duration
	// TicketTTL is how long a Stream ticket may be used; default 90 s
	// (documented). Tickets are single use.
	TicketTTL time.Duration
	// ACKTimeout is how long an application frame may go unacknowledged
	// before it is pushed again; default 60 s (observed, not documented).
	ACKTimeout time.Duration
	// MaxRedeliveries bounds how often one frame is pushed again; default 3
	// (inferred: the real number is undocumented). Negative means never.
	MaxRedeliveries int
	// NewMessageIDOnRedelivery gives a redelivered frame a fresh
	// headers.messageId; default false, the same one (inferred from the
	// Python SDK's ACK cache). data, and so msgId, never changes (observed).
	NewMessageIDOnRedelivery bool
	// DisconnectGrace is how long after a SYSTEM disconnect frame the
	// server closes the socket; default 10 s (documented).
	DisconnectGrace time.Duration
	// PingInterval makes the server send a SYSTEM ping to every connection
	// at this interval; default 0, never (the real cadence is undocumented).
	PingInterval time.Duration

	// RecallWindow is how long after sending a message can be recalled;
	// default 24 h (documented for otoMessages, inferred for the others).
	RecallWindow time.Duration
	// QPS is the per-app, per-API call limit in each one-second window;
	// default 20 (documented). Negative disables rate limiting.
	QPS int
	// SlidingWindow counts QPS over any sliding second instead of each
	// calendar second (the default, which lets 2 × QPS calls through in a
	// moment across a second's boundary). Which DingTalk does is unknown.
	SlidingWindow bool
	// Latency is the round trip between a caller and this DingTalk: half
	// of it passes before an OpenAPI call takes effect and is counted
	// against the rate limit, half before its answer; default 0 (loopback).
	// Jitter varies each half uniformly by up to ±Jitter (never below
	// zero); default 0. See SetLatency.
	Latency, Jitter time.Duration
	// SteadyWayBack keeps the jitter on the way there only: every answer
	// comes back exactly half of Latency after the call took effect. The
	// round trips then spread by only what the way there does, so calls
	// sent a window apart may arrive closer by all of their spread, not by
	// about 1/√2 of it as when both ways vary alike: the network that a
	// client assuming the latter gets wrong (whether DingTalk's paths are
	// lopsided like this is unknown).
	SteadyWayBack bool
	// RecallReasons are the failedResult strings for per-key failures. The
	// real strings are undocumented; see RecallReasons for the defaults.
	RecallReasons RecallReasons
	// RecallAlreadyRecalledSucceeds makes recalling an already recalled
	// message report success instead of a failedResult (unknown on the real
	// platform); default false.
	RecallAlreadyRecalledSucceeds bool
	// ProcessingFor is how long after sending the query APIs report
	// sendStatus PROCESSING rather than SUCCESS; default 0 (DingTalk's
	// delay is unknown: its docs only say a fresh key "may not have query
	// data yet").
	ProcessingFor time.Duration
	// QueryNotReadyFor is how long after sending the query APIs answer
	// 400 processQueryKey.expireTime for a key, as DingTalk may for one
	// sent moments ago ("query data not generated yet, or expired");
	// default 0 (how long it takes is undocumented).
	QueryNotReadyFor time.Duration

	// CardRefusal answers every interactive card call as for an app
	// without the first-generation card permission (CardsPermissionDenied,
	// CardsTemplateMissing); default CardsAllowed. Which code such an app
	// gets is observed, not documented.
	CardRefusal CardRefusal
	// CardResendDelivers makes a second send with a cardBizId already
	// used deliver another card; default false: it answers the first
	// card's key and changes nothing (inferred from "卡片幂等ID").
	CardResendDelivers bool
	// CardUpdateAfterRecall makes an update of a recalled card succeed
	// (showing nothing); default false: 400 invalid.bizId (inferred).
	CardUpdateAfterRecall bool

	// MaxCalls bounds the recorded calls (oldest dropped first) for a
	// long-running sim; default 0, unbounded.
	MaxCalls int

	// Now is the clock; default time.Now. Advance shifts it.
	Now func() time.Time
	// Logf, when set, receives one line per notable event.
	Logf func(format string, args ...any)
}

// RecallReasons are the failedResult reasons the emulator reports per key.
// DingTalk documents only SYSTEM_ERROR; the others are inferred defaults.
type RecallReasons struct {
	NotFound        string // default "NOT_FOUND": a well-formed key never issued to this robot
	OtherChat       string // default "NOT_FOUND": a key of another conversation
	Expired         string // default "EXPIRED": past RecallWindow
	AlreadyRecalled string // default "ALREADY_RECALLED"
}

func (o *Options) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Addr, "127.0.0.1:0")
	def(&o.ClientID, "dingemulatorapp")
	def(&o.ClientSecret, "emulator-secret")
	def(&o.RobotCode, "dingemulatorbot")
	def(&o.CoolAppCode, "COOLAPP-1-EMULATOR")
	def(&o.RecallReasons.NotFound, "NOT_FOUND")
	def(&o.RecallReasons.OtherChat, "NOT_FOUND")
	def(&o.RecallReasons.Expired, "EXPIRED")
	def(&o.RecallReasons.AlreadyRecalled, "ALREADY_RECALLED")
	dur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	dur(&o.TokenTTL, 7200*time.Second)
	dur(&o.TicketTTL, 90*time.Second)
	dur(&o.ACKTimeout, 60*time.Second)
	dur(&o.DisconnectGrace, 10*time.Second)
	dur(&o.RecallWindow, 24*time.Hour)
	if o.MaxRedeliveries == 0 {
		o.MaxRedeliveries = 3
	}
	if o.QPS == 0 {
		o.QPS = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
	url      string

	mu       sync.Mutex
	changed  chan struct{}     // closed and replaced on every state change; see WaitUntil
	offset   time.Duration     // added to opts.Now by Advance
	apps     map[string]*app   // by clientId
	robots   map[string]*robot // by robotCode
	tokens   map[string]*token // by accessToken
	issued   []string          // every token ever issued
	tickets  map[string]*ticket
	convs    map[string]*conversation // by conversationId
	otoCID   map[string]string        // userId -> its 1:1 conversation with the bot
	nicks    map[string]string        // userId -> the nick their messages carried, for the console
	keys     map[string]*keyRecord    // processQueryKey -> the messages it sent
	cards    map[string]*cardRecord   // clientId NUL cardBizId -> the card
	users    userDirectory
	calls    []Call
	callSeq  int // calls ever recorded: the console numbers them
	inflight int
	faults   faultSet
	limits   map[string]*window // rate limit windows by app + path
	stream   streamState

	wg       sync.WaitGroup // background goroutines (connections, timers' work)
	closed   chan struct{}
	closeOne sync.Once

	peakInflight int // the most calls in flight since the last ResetCalls (s.mu)
}

// NewServer starts an emulator on loopback. Close it when done.
func NewServer(opts Options) (*Server, error) {
	opts.setDefaults()
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("emulator listen: %w", err)
	}
	s := &Server{
		opts:     opts,
		listener: l,
		url:      "http://" + l.Addr().String(),
		changed:  make(chan struct{}),
		apps:     map[string]*app{},
		robots:   map[string]*robot{},
		tokens:   map[string]*token{},
		tickets:  map[string]*ticket{},
		convs:    map[string]*conversation{},
		otoCID:   map[string]string{},
		nicks:    map[string]string{},
		keys:     map[string]*keyRecord{},
		limits:   map[string]*window{},
		closed:   make(chan struct{}),
	}
	s.stream.init()
	s.cardsInit()
	s.faults.init()
	s.users.init()
	s.AddApp(App{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, RobotCode: opts.RobotCode, CoolAppCode: opts.CoolAppCode})
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.http.Serve(l)
	}()
	if opts.PingInterval > 0 {
		s.wg.Add(1)
		go s.pingLoop(opts.PingInterval)
	}
	return s, nil
}

// URL is the emulator's base URL ("http://127.0.0.1:PORT"): the value for
// dingtalk.api_base and for the Stream SDK's WithOpenApiHost.
func (s *Server) URL() string { return s.url }

// Options returns the options the server runs with, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Close stops the server, closes every Stream connection and waits for the
// emulator's goroutines. Hanging calls (FaultHang) are released.
func (s *Server) Close() error {
	var err error
	s.closeOne.Do(func() {
		s.mu.Lock()
		close(s.closed) // releases hanging and delayed calls; no connection starts after it
		s.mu.Unlock()
		s.stream.closeAll(s)
		// No grace: a test's emulator goes away at once, as a network does.
		err = s.http.Close()
		s.wg.Wait()
	})
	return err
}

// now is the emulator's clock: Options.Now plus every Advance.
func (s *Server) now() time.Time {
	s.mu.Lock()
	off := s.offset
	s.mu.Unlock()
	return s.opts.Now().Add(off)
}

// Now reports the emulator's current time.
func (s *Server) Now() time.Time { return s.now() }

// Advance moves the emulator's clock forward, e.g. past the recall window.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.notifyLocked()
	s.mu.Unlock()
}

// SetQPS changes the per-app, per-API limit (negative: unlimited).
func (s *Server) SetQPS(n int) {
	s.mu.Lock()
	s.opts.QPS = n
	s.notifyLocked()
	s.mu.Unlock()
}

// notify wakes every WaitUntil (and the console) after a change made
// under another lock than s.mu, such as an armed fault.
func (s *Server) notify() {
	s.mu.Lock()
	s.notifyLocked()
	s.mu.Unlock()
}

// notifyLocked wakes every WaitUntil. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitUntil blocks until cond returns true, re-evaluating it after every
// change of the emulator's state (a call, a frame, an ACK, a connection), or
// until ctx ends. cond must not call WaitUntil. Tests use it instead of
// sleeping.
func (s *Server) WaitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("emulator: condition not met: %w", ctx.Err())
		case <-s.closed:
			return errors.New("emulator: closed")
		}
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// randomID returns n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newProcessQueryKey returns a key shaped like the real ones: 32 random bytes
// in standard base64 (44 characters, one "=").
func newProcessQueryKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
