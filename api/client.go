package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// Client talks to a running bot's HTTP API. Its methods return *Error for
// every answer that is not 2xx, so a caller branches on the code:
//
//	var e *api.Error
//	if errors.As(err, &e) && e.Code == "ledger_unavailable" { ... }
type Client struct {
	// BaseURL is the bot's http.listen as a URL: "http://127.0.0.1:8470".
	BaseURL string
	// Token is the bot's http.token, sent as a bearer token.
	Token string
	// HTTP makes the requests; nil means http.DefaultClient.
	HTTP *http.Client

	lang atomic.Value // string: the last Content-Language the bot stated
}

// Language is the language the bot said its last answer was in (its
// Content-Language: its config's locale, "zh" or "en"), or "" before
// any answer said. A client that prints the bot's words beside its own
// (the CLI) puts its own in the same language.
func (c *Client) Language() string {
	l, _ := c.lang.Load().(string)
	return l
}

// NewClient returns a client of the bot at baseURL with token.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, Token: token}
}

// maxAnswer bounds an answer's body: a receipt of a large batch is a few
// MiB.
const maxAnswer = 64 << 20

// Do makes one request: in, when not nil, is sent as JSON; a 2xx answer is
// decoded into out, when not nil (a *json.RawMessage keeps it as it
// came); any other answer is an *Error. The typed methods are built on it.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	status, body, err := c.roundTrip(ctx, method, path, in)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return answerError(status, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("the bot's answer to %s %s: %w", method, path, err)
	}
	return nil
}

// roundTrip makes the request and reads the answer's status and body.
func (c *Client) roundTrip(ctx context.Context, method, path string, in any) (int, []byte, error) {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	base := strings.TrimSuffix(c.BaseURL, "/")
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("the bot's HTTP API at %s: %w", c.BaseURL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if l := resp.Header.Get("Content-Language"); l != "" {
		c.lang.Store(l)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, body, err
}

// answerError reads the error envelope of an answer; a body that is not
// one (a proxy's page) is the message as it came.
func answerError(status int, body []byte) *Error {
	e := &Error{Status: status}
	if json.Unmarshal(body, e) != nil || e.Message == "" {
		return &Error{Status: status, Message: strings.TrimSpace(string(body))}
	}
	return e
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// withClient adds ?client= to path when client is set.
func withClient(path, client string) string {
	if client == "" {
		return path
	}
	return path + "?client=" + url.QueryEscape(client)
}
