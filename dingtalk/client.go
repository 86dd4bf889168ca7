// Package dingtalk is a thin typed client for the DingTalk OpenAPI calls
// recallbot makes: the access token, the three send APIs and the three
// recall APIs. Every call has a context and a timeout, is paced by a
// per-API rate limiter, and fails with *APIError when DingTalk answers
// anything but 2xx.
//
// The client never retries a send: a retried send is a duplicate message
// in someone's chat. The one exception is an InvalidAuthentication answer,
// which means the call was rejected before anything happened: the token is
// dropped, refreshed, and the call made once more. Callers decide about
// other retries with Retryable.
package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
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
	// Timeout bounds each HTTP call; default 10 s.
	Timeout time.Duration
	// QPS paces each API; default 20 (DingTalk's per-app, per-API limit).
	QPS float64
}

// Client calls the DingTalk OpenAPI. It is safe for concurrent use.
type Client struct {
	cfg    Config
	hc     *http.Client
	now    func() time.Time
	tokens tokenCache

	mu       sync.Mutex
	limiters map[string]*rate.Limiter

	// OnCall, when set, is told about every HTTP call: its path, the HTTP
	// status (0 for a transport error) and how long it took. Metrics hook.
	OnCall func(path string, status int, d time.Duration)
}

// New returns a client. hc may be nil for http.DefaultClient's transport.
func New(cfg Config, hc *http.Client) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.QPS <= 0 {
		cfg.QPS = 20
	}
	if hc == nil {
		hc = &http.Client{}
	}
	c := &Client{cfg: cfg, hc: hc, now: time.Now, limiters: map[string]*rate.Limiter{}}
	c.tokens.init()
	return c
}

// RobotCode is the bot this client sends as.
func (c *Client) RobotCode() string { return c.cfg.RobotCode }

// limiter returns the pacing limiter for one API path.
func (c *Client) limiter(path string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limiters[path]
	if !ok {
		l = rate.NewLimiter(rate.Limit(c.cfg.QPS), 1)
		c.limiters[path] = l
	}
	return l
}

// call makes one authenticated OpenAPI call: pace, token, POST, and on
// InvalidAuthentication one refresh and one more try.
func (c *Client) call(ctx context.Context, path string, in, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		if err := c.limiter(path).Wait(ctx); err != nil {
			return fmt.Errorf("dingtalk %s: %w", path, err)
		}
		err = c.post(ctx, path, tok, in, out)
		var ae *APIError
		if attempt == 0 && errors.As(err, &ae) && ae.Code == "InvalidAuthentication" {
			c.tokens.drop(tok)
			continue
		}
		return err
	}
}

// maxResponse caps what is read of an answer.
const maxResponse = 1 << 20

// post sends one JSON request. The token travels in a header only, so it
// never appears in a URL, and so never in an error.
func (c *Client) post(ctx context.Context, path, token string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("dingtalk %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("dingtalk %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("x-acs-dingtalk-access-token", token)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.observe(path, 0, start)
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
	if c.OnCall != nil {
		c.OnCall(path, status, time.Since(start))
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
