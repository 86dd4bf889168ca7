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
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
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

// UnmarshalJSON reads a matcher as the API shows it: isEqual, when
// absent, is true (the API's default, and all there was before 0.22).
func (m *Matcher) UnmarshalJSON(b []byte) error {
	var w struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		IsRegex bool   `json:"isRegex"`
		IsEqual *bool  `json:"isEqual"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = Matcher{Name: w.Name, Value: w.Value, IsRegex: w.IsRegex, IsEqual: w.IsEqual == nil || *w.IsEqual}
	return nil
}

// Matches reports whether labels satisfy m (a missing label is "").
func (m Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	ok := v == m.Value
	if m.IsRegex {
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		ok = err == nil && re.MatchString(v)
	}
	return ok == m.IsEqual
}

// Matches reports whether the silence's matchers all match labels.
func (s Silence) Matches(labels map[string]string) bool {
	for _, m := range s.Matchers {
		if !m.Matches(labels) {
			return false
		}
	}
	return len(s.Matchers) > 0
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

// NeverArrived reports whether err says the request cannot have reached
// Alertmanager: no connection was made (refused, no route, no such host).
// Anything else without an answer (a timeout, a reset) may have been
// acted on.
func NeverArrived(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &de) || errors.As(err, &oe) && oe.Op == "dial"
}

// Unsure reports whether Alertmanager may have acted on a call that
// failed: no answer came though the request may have arrived, or it
// answered 5xx.
func Unsure(err error) bool {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Status >= 500
	}
	return err != nil && !NeverArrived(err)
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

// List reads the silences, all of them or, with filters, those whose
// matchers include each (such as alertname="DiskFull"); expired ones too.
func (c *Client) List(ctx context.Context, filters ...Matcher) ([]Silence, error) {
	q := url.Values{}
	for _, m := range filters {
		op := map[[2]bool]string{{false, true}: "=", {false, false}: "!=", {true, true}: "=~", {true, false}: "!~"}[[2]bool{m.IsRegex, m.IsEqual}]
		q.Add("filter", m.Name+op+strconv.Quote(m.Value))
	}
	path := "/api/v2/silences"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []Silence
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// maxAnswer bounds what is read of an answer: a list of silences of a
// busy Alertmanager runs to megabytes.
const maxAnswer = 32 << 20

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
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
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
