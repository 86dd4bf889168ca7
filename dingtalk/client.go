// Package dingtalk is a thin typed client for the DingTalk OpenAPI calls
// recallbot makes: the access token, the three send APIs, the three recall
// APIs and the three query APIs (read status, and whether a message is
// still shown). Every call has a context and a timeout, is paced on
// DingTalk's per-API window (pace.go), and fails with *APIError when
// DingTalk answers anything but 2xx. The client measures each API's round
// trip and says how many calls a job should keep in flight (InFlight).
//
// The client never retries a call DingTalk may have acted on: a retried
// send is a duplicate message in someone's chat. It retries only answers
// that say the call was refused before anything happened: InvalidAuthentication
// (the token is dropped, refreshed, and the call made once more) and the
// per-app rate limit (403 QpsLimit…, retried after DingTalk's one-second
// window, paced). Callers decide about other retries with Retryable, and
// tell a call that never left (NotSent) from one whose fate is unknown
// (Ambiguous).
package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the OpenAPI host, e.g. https://api.dingtalk.com.
	BaseURL      string
	ClientID     string
	ClientSecret string
	RobotCode    string
	// CoolAppCode is needed for privateChatMessages/send.
	CoolAppCode string
	// GroupCoolAppCode, when set, is sent with every groupMessages/send:
	// DingTalk needs it from a bot installed in groups through a group
	// cool app (docs/dingtalk.md §3). A group cool app is another cool app
	// than the person-to-person one CoolAppCode names.
	GroupCoolAppCode string
	// Timeout bounds each HTTP call; default 10 s.
	Timeout time.Duration
	// QPS paces each API; default 20 (DingTalk's per-app, per-API limit).
	QPS float64
	// QPSRetries bounds how often one call refused by the rate limit is
	// made again; default 5. The refusal is definite (nothing happened),
	// so this is safe for sends too.
	QPSRetries int
	// Slots, when set, hands out the pace's call starts instead of this
	// process alone: one schedule shared by every instance of the app
	// (DingTalk's limit is per app and API, not per process). See Slots.
	Slots Slots
	// OnCall, when set, is told about every HTTP call: its path, the HTTP
	// status (0 for a transport error) and how long it took. Metrics hook.
	OnCall func(path string, status int, d time.Duration)
	// OnRateLimited, when set, is told about every call DingTalk refused
	// for its rate limit, after the pace has widened and paused: a pace
	// that keeps the window still drawing refusals means that something
	// else spends the app's quota (see app/quota.go).
	OnRateLimited func(path string)
}

// Client calls the DingTalk OpenAPI. It is safe for concurrent use.
type Client struct {
	cfg    Config
	hc     *http.Client
	now    func() time.Time
	tokens tokenCache

	mu       sync.Mutex
	limiters map[string]*pacer
}

// New returns a client. hc may be nil: then the client has a transport of
// its own, which keeps a connection for each call a job keeps in flight.
func New(cfg Config, hc *http.Client) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.QPS <= 0 {
		cfg.QPS = 20
	}
	if cfg.QPSRetries <= 0 {
		cfg.QPSRetries = 5
	}
	if hc == nil {
		hc = &http.Client{Transport: newTransport()}
	}
	c := &Client{cfg: cfg, hc: hc, now: time.Now, limiters: map[string]*pacer{}}
	c.tokens.init()
	return c
}

// RobotCode is the bot this client sends as.
func (c *Client) RobotCode() string { return c.cfg.RobotCode }

// qpsWindow is DingTalk's rate-limit window: "the limit window is 1 s,
// sleep 1 s and retry" (the throttling guide).
const qpsWindow = time.Second

// call makes one authenticated OpenAPI call: pace, token, request. On
// InvalidAuthentication it refreshes the token and tries once more; on a
// rate-limit refusal it pauses the API for DingTalk's window and tries
// again, up to QPSRetries times. Both answers mean DingTalk did nothing.
// Anything that fails before the request is written in full is a
// *NotSentError.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	refreshed, qpsTries := false, 0
	for {
		tok, err := c.token(ctx)
		if err != nil {
			return &NotSentError{Path: path, Err: fmt.Errorf("getting an access token: %w", err)}
		}
		p := c.limiter(path)
		start, wrote, err := p.wait(ctx, PriorityOf(ctx))
		if err != nil {
			return &NotSentError{Path: path, Err: fmt.Errorf("waiting for the rate limit: %w", err)}
		}
		tm := &timing{jit: &p.jit, wrote: wrote}
		err = c.do(ctx, method, path, query, tok, in, out, tm)
		tm.settle(time.Time{}) // if the request was never written, the pace hears so
		var ae *APIError
		switch {
		case !refreshed && errors.As(err, &ae) && ae.Code == "InvalidAuthentication":
			refreshed = true
			c.tokens.drop(tok)
			continue
		case IsQPS(err):
			p.refused(start)
			if c.cfg.OnRateLimited != nil {
				c.cfg.OnRateLimited(path)
			}
			if qpsTries < c.cfg.QPSRetries {
				qpsTries++
				continue
			}
		}
		return err
	}
}

type guardKey struct{}

// WithGuard makes every call made with ctx check guard at the last moment,
// after its access token and its turn in the pace, just before the request
// is written: an error stops the call (a NotSentError). A recall checks
// its claim lease this way, so that a process that stalled while waiting
// (SIGSTOP, a paused VM) never calls for keys another instance took over
// meanwhile.
//
// The guard speaks for the call it was given for, not for the access token
// that call may have to fetch first (a broadcast's guard marks its step
// dispatched: the token's request must not).
func WithGuard(ctx context.Context, guard func() error) context.Context {
	return context.WithValue(ctx, guardKey{}, guard)
}

// unguarded is ctx without its guard.
func unguarded(ctx context.Context) context.Context { return context.WithValue(ctx, guardKey{}, nil) }

// maxResponse caps what is read of an answer.
const maxResponse = 1 << 20

// timing tells an API's pace how a call went: when its request was
// written (or that it never was), and how long after that DingTalk
// answered.
type timing struct {
	jit     *jitter
	wrote   func(time.Time) // the pace's, from wait: called once
	state   atomic.Int32    // 0 until settled, then 1
	wroteAt atomic.Int64    // unix nanoseconds; 0 until written
}

// settle tells the pace the request was written at w, or never (zero w);
// only the first call counts.
func (t *timing) settle(w time.Time) {
	if t.state.CompareAndSwap(0, 1) {
		if !w.IsZero() {
			t.wroteAt.Store(w.UnixNano())
		}
		t.wrote(w)
	}
}

// do sends one request with a JSON body (POST) or query parameters (GET).
// The token travels in a header only, so it never appears in a URL, and so
// never in an error. tm, if set, hears how the call went.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, token string, in, out any, tm *timing) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("dingtalk %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	if err := ctx.Err(); err != nil {
		return &NotSentError{Path: path, Err: err}
	}
	if g, ok := ctx.Value(guardKey{}).(func() error); ok {
		if err := g(); err != nil { // checked last, after the token and the pace
			return &NotSentError{Path: path, Err: err}
		}
	}
	if la, ok := ctx.Value(lateKey{}).(*lateAnswer); ok {
		if ka, ok := out.(*keyAnswer); ok && len(query) == 0 {
			return c.doLate(ctx, method, path, token, in, ka, tm, la)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var written atomic.Bool // the whole request reached the socket: DingTalk may act on it
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		written.Store(i.Err == nil)
		if tm != nil && i.Err == nil {
			tm.settle(time.Now())
		}
	}})
	u := c.cfg.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return &NotSentError{Path: path, Err: err}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("x-acs-dingtalk-access-token", token)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if tm != nil && err == nil {
		if w := tm.wroteAt.Load(); w != 0 {
			tm.jit.answered(time.Since(time.Unix(0, w)))
		}
	}
	if err != nil {
		c.observe(path, 0, start)
		if !written.Load() {
			return &NotSentError{Path: path, Err: unwrapURL(err)}
		}
		return &TransportError{Path: path, Err: unwrapURL(err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	c.observe(path, resp.StatusCode, start)
	if err != nil {
		return &TransportError{Path: path, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(path, resp, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &APIError{Path: path, Status: resp.StatusCode, Code: "malformedResponse", Message: "DingTalk answered 2xx with a body that is not the expected JSON: " + snippet(b)}
	}
	return nil
}

func (c *Client) observe(path string, status int, start time.Time) {
	if c.cfg.OnCall != nil {
		c.cfg.OnCall(path, status, time.Since(start))
	}
}

// unwrapURL drops *url.Error's "Post <url>:" prefix; the URL holds no
// secret, but the message reads better with the path we add ourselves.
func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap()
	}
	return err
}

// newTransport is http.DefaultTransport keeping up to MaxInFlight idle
// connections to DingTalk: the default keeps 2, so a job with more calls in
// flight would open (and for HTTPS handshake) a new connection for most of
// them.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = MaxInFlight
	t.MaxIdleConns = max(t.MaxIdleConns, MaxInFlight)
	return t
}
