package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// A send that DingTalk has not answered within the client's timeout is a
// *TransportError: the message may be in the chat, and without its key it
// can be neither recalled nor told apart from a send that never happened.
// Yet DingTalk often answers a little later (a slow moment on its side):
// a caller that asks for it (WithLateAnswer) gets its error on time, while
// the client keeps the connection and reads the answer for a while longer;
// a key that comes is handed to the caller, who records it and can take
// the message back. A process that stops meanwhile loses that answer: a
// send without any answer stays unknown.

type lateKey struct{}

// lateAnswer is what WithLateAnswer asks for.
type lateAnswer struct {
	wait time.Duration
	wg   *sync.WaitGroup
	fn   func(key string)
}

// WithLateAnswer makes a send made with ctx that gets no answer within the
// client's timeout return its *TransportError as usual, and then keep
// reading the answer for up to wait more: a processQueryKey that comes is
// given to fn (from another goroutine). wg counts that reader, so that
// its owner can wait for it; ctx ending stops it.
func WithLateAnswer(ctx context.Context, wait time.Duration, wg *sync.WaitGroup, fn func(key string)) context.Context {
	return context.WithValue(ctx, lateKey{}, &lateAnswer{wait: wait, wg: wg, fn: fn})
}

// lateReply is an HTTP answer as read.
type lateReply struct {
	resp *http.Response
	body []byte
	err  error
}

// doLate is do for a send made WithLateAnswer: the request runs in a
// goroutine with the timeout and the wait for a late answer; the call
// itself returns after the timeout. If the request was written by then
// the goroutine is left to read the answer and hand its key to la.fn;
// otherwise the request is cancelled and the call reports what became of
// it, as do does.
func (c *Client) doLate(ctx context.Context, method, path, token string, in any, out *keyAnswer, tm *timing, la *lateAnswer) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("dingtalk %s: %w", path, err)
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout+la.wait)
	var written atomic.Bool
	rctx = httptrace.WithClientTrace(rctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		written.Store(i.Err == nil)
		if tm != nil && i.Err == nil {
			tm.settle(time.Now())
		}
	}})
	req, err := http.NewRequestWithContext(rctx, method, c.cfg.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		cancel()
		return &NotSentError{Path: path, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("x-acs-dingtalk-access-token", token)
	}
	start := time.Now()
	got := make(chan lateReply, 1)
	var mu sync.Mutex
	abandoned := false
	la.wg.Add(1)
	go func() {
		defer la.wg.Done()
		defer cancel()
		var r lateReply
		r.resp, r.err = c.hc.Do(req)
		if r.err == nil {
			if tm != nil {
				if w := tm.wroteAt.Load(); w != 0 {
					tm.jit.answered(time.Since(time.Unix(0, w)))
				}
			}
			r.body, r.err = io.ReadAll(io.LimitReader(r.resp.Body, maxResponse))
			_ = r.resp.Body.Close()
		}
		mu.Lock()
		if !abandoned {
			got <- r
			mu.Unlock()
			return
		}
		mu.Unlock()
		status := 0
		if r.resp != nil {
			status = r.resp.StatusCode
		}
		c.observe(path, status, start)
		var a keyAnswer
		if r.err == nil && status >= 200 && status <= 299 && json.Unmarshal(r.body, &a) == nil && a.ProcessQueryKey != "" {
			la.fn(a.ProcessQueryKey)
		}
	}()
	timer := time.NewTimer(c.cfg.Timeout)
	defer timer.Stop()
	var r lateReply
	select {
	case r = <-got:
	case <-ctx.Done():
		cancel()
		r = <-got
	case <-timer.C:
		mu.Lock()
		select {
		case r = <-got: // answered just now
			mu.Unlock()
		default:
			if written.Load() {
				abandoned = true
				mu.Unlock()
				c.observe(path, 0, start)
				return &TransportError{Path: path, Err: fmt.Errorf("no answer within %s (a late answer is still awaited)", c.cfg.Timeout)}
			}
			mu.Unlock()
			cancel() // not written yet: it must not be, now
			r = <-got
		}
	}
	if r.err != nil {
		status := 0
		if r.resp != nil {
			status = r.resp.StatusCode
		}
		c.observe(path, status, start)
		if !written.Load() {
			return &NotSentError{Path: path, Err: unwrapURL(r.err)}
		}
		return &TransportError{Path: path, Err: unwrapURL(r.err)}
	}
	c.observe(path, r.resp.StatusCode, start)
	if r.resp.StatusCode < 200 || r.resp.StatusCode > 299 {
		return newAPIError(path, r.resp, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return &APIError{Path: path, Status: r.resp.StatusCode, Code: "malformedResponse", Message: "DingTalk answered 2xx with a body that is not the expected JSON: " + snippet(r.body)}
	}
	return nil
}
