// Package alertmanager is a small client of Prometheus Alertmanager's API
// v2 silences: create one, expire it, read it. It is what chat's /silence,
// /ack and /unsilence call. Paths and fields are those of Alertmanager
// 0.25's api/v2/openapi.yaml, unchanged since.
package alertmanager

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
	"time"
)

// Client calls one Alertmanager.
type Client struct {
	// BaseURL is Alertmanager's address, e.g. http://127.0.0.1:9093.
	BaseURL string
	// HTTP is the client; default one with a 10 s timeout.
	HTTP *http.Client
}

// Matcher picks alerts by one label: equality unless IsRegex, negated
// when IsEqual is false.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// Silence is a silence as the API shows it; Status is set on reads.
type Silence struct {
	ID        string    `json:"id,omitempty"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	Status    *Status   `json:"status,omitempty"`
}

// Status is a silence's state: active, pending or expired.
type Status struct {
	State string `json:"state"`
}

// Error is an answer of Alertmanager's other than success: its status and
// what it said (its error payloads are plain strings).
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("alertmanager answered HTTP %d: %s", e.Status, e.Message)
}

// Unreachable reports whether err is no answer at all: Alertmanager is
// down, unreachable, or too slow.
func Unreachable(err error) bool {
	var ae *Error
	return err != nil && !errors.As(err, &ae)
}

// Create posts a new silence and returns its ID.
func (c *Client) Create(ctx context.Context, s Silence) (string, error) {
	s.ID, s.Status = "", nil
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v2/silences", s, &out); err != nil {
		return "", err
	}
	if out.SilenceID == "" {
		return "", &Error{Status: 200, Message: "the answer has no silenceID"}
	}
	return out.SilenceID, nil
}

// Expire ends a silence now. Alertmanager keeps it, expired.
func (c *Client) Expire(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v2/silence/"+url.PathEscape(id), nil, nil)
}

// Get reads one silence.
func (c *Client) Get(ctx context.Context, id string) (Silence, error) {
	var s Silence
	err := c.do(ctx, http.MethodGet, "/api/v2/silence/"+url.PathEscape(id), nil, &s)
	return s, err
}

// List reads every silence.
func (c *Client) List(ctx context.Context) ([]Silence, error) {
	var out []Silence
	err := c.do(ctx, http.MethodGet, "/api/v2/silences", nil, &out)
	return out, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(b))
		var s string
		if json.Unmarshal(b, &s) == nil {
			msg = s
		}
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return &Error{Status: resp.StatusCode, Message: msg}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return &Error{Status: resp.StatusCode, Message: "an answer that is not the expected JSON"}
		}
	}
	return nil
}
