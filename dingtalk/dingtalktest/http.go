package dingtalktest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Paths of the emulated OpenAPI. Their spelling follows the official SDK,
// including oToMessages for send and otoMessages for recall (docs/dingtalk.md §1).
// They are written out here rather than taken from package dingtalk on
// purpose: a path the client misspelt must fail against the emulator, as
// it would against DingTalk.
const (
	PathAccessToken    = "/v1.0/oauth2/accessToken"
	PathGatewayOpen    = "/v1.0/gateway/connections/open"
	PathConnect        = "/connect"
	PathPrivateSend    = "/v1.0/robot/privateChatMessages/send"
	PathPrivateRecall  = "/v1.0/robot/privateChatMessages/batchRecall"
	PathOTOSend        = "/v1.0/robot/oToMessages/batchSend"
	PathOTORecall      = "/v1.0/robot/otoMessages/batchRecall"
	PathGroupSend      = "/v1.0/robot/groupMessages/send"
	PathGroupRecall    = "/v1.0/robot/groupMessages/recall"
	PathOTOQuery       = "/v1.0/robot/oToMessages/readStatus"
	PathPrivateQuery   = "/v1.0/robot/privateChatMessages/query"
	PathGroupQuery     = "/v1.0/robot/groupMessages/query"
	headerAccessToken  = "x-acs-dingtalk-access-token"
	maxRecordedBody    = 64 << 10
	maxRequestBodySize = 1 << 20
)

// Call is one HTTP request the emulator answered on its OpenAPI and gateway
// routes (the control API is not recorded). Time is when it took effect:
// with Options.Latency, half a round trip after it was sent.
type Call struct {
	Time     time.Time `json:"time"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Status   int       `json:"status"`
	Code     string    `json:"code,omitempty"` // the error code, for non-2xx answers
	Request  string    `json:"request"`        // body, secrets redacted
	Response string    `json:"response"`

	counted time.Time // when the rate limit counted it (its own clock); zero if it did not
}

// Calls returns every recorded call, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CountCalls is the number of recorded calls to one path, without copying
// them: cheap enough for a WaitUntil condition re-checked on every change.
func (s *Server) CountCalls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.calls {
		if s.calls[i].Path == path {
			n++
		}
	}
	return n
}

// LastCall is the most recent recorded call to path.
func (s *Server) LastCall(path string) (Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.calls) - 1; i >= 0; i-- {
		if s.calls[i].Path == path {
			return s.calls[i], true
		}
	}
	return Call{}, false
}

// CallsTo returns the recorded calls to one path.
func (s *Server) CallsTo(path string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// InFlight is the number of OpenAPI calls being answered right now.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

func (s *Server) track(delta int) {
	s.mu.Lock()
	s.inflight += delta
	s.peakInflight = max(s.peakInflight, s.inflight)
	s.notifyLocked()
	s.mu.Unlock()
}

// ResetCalls forgets the recorded calls, and MaxInFlight starts again
// from the calls in flight now.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.peakInflight = s.inflight
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := map[string]func(*exchange){
		PathAccessToken:   s.handleAccessToken,
		PathGatewayOpen:   s.handleGatewayOpen,
		PathPrivateSend:   s.authed(s.handlePrivateSend),
		PathPrivateRecall: s.authed(s.handlePrivateRecall),
		PathOTOSend:       s.authed(s.handleOTOSend),
		PathOTORecall:     s.authed(s.handleOTORecall),
		PathGroupSend:     s.authed(s.handleGroupSend),
		PathGroupRecall:   s.authed(s.handleGroupRecall),
		PathOTOQuery:      s.authed(s.handleOTOQuery),
		PathPrivateQuery:  s.authed(s.handlePrivateQuery),
		PathGroupQuery:    s.authed(s.handleGroupQuery),
		PathCardSend:      s.authed(s.handleCardSend),
		PathCardUpdate:    s.authed(s.handleCardUpdate),
	}
	for path, h := range api {
		mux.HandleFunc(path, s.serveAPI(h))
	}
	mux.HandleFunc(PathConnect, s.handleConnect)
	s.controlRoutes(mux)
	s.consoleRoutes(mux)
	mux.HandleFunc("/", s.serveAPI(func(e *exchange) {
		e.fail(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	}))
	return mux
}

// exchange is one OpenAPI request being answered.
type exchange struct {
	s      *Server
	r      *http.Request
	w      http.ResponseWriter
	body   []byte
	app    *app // set by authed
	status int
	code   string
	resp   []byte
	// recorded: the call is already in the log (a late answer).
	recorded bool
	at       time.Time // when it took effect, after the first half of the round trip
	counted  time.Time // when the rate limit counted it
}

func (e *exchange) reply(v any) {
	b, _ := json.Marshal(v)
	e.status, e.resp = http.StatusOK, b
}

// fail answers with DingTalk's error shape (docs/dingtalk.md §1).
func (e *exchange) fail(status int, code, message string) {
	b, _ := json.Marshal(map[string]string{"code": code, "requestid": uuid(), "message": message})
	e.status, e.code, e.resp = status, code, b
}

// decode parses the JSON body into v; on failure it answers
// invalidParameter.param.invalid and returns false.
func (e *exchange) decode(v any) bool {
	if err := json.Unmarshal(e.body, v); err != nil {
		e.fail(http.StatusBadRequest, "invalidParameter.param.invalid", "参数错误："+jsonProblem(err))
		return false
	}
	return true
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "body is not valid JSON"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type"
	}
	return "body is not a JSON object"
}

func (s *Server) serveAPI(h func(*exchange)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBodySize))
		e := &exchange{s: s, r: r, w: w, body: body}
		s.track(+1)
		defer s.track(-1)
		if !s.travel(r, s.halfTrip(true)) {
			return // the request never arrived: the caller gave up on the way
		}
		if d := s.faults.takeDelay(r.URL.Path); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
			case <-s.closed:
			}
			t.Stop()
		}
		want := http.MethodPost
		if r.URL.Path == PathOTOQuery {
			want = http.MethodGet // the one GET of the robot APIs (docs/dingtalk.md §5)
		}
		if r.URL.Path == PathCardUpdate {
			want = http.MethodPut // docs/dingtalk.md §10
		}
		e.at = s.now()
		switch {
		case r.Method != want:
			e.fail(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		default:
			if !s.applyFault(e) {
				h(e)
			}
		}
		if e.status == 0 {
			return // the fault hung up
		}
		hold, late := s.faults.takeHold(r.URL.Path), time.Duration(0)
		if hold == nil {
			late = s.faults.takeLate(r.URL.Path)
		}
		if late > 0 || hold != nil {
			// Recorded now, as applied, whether or not the caller hears
			// the answer. Its code says it was answered late.
			rec := *e
			if rec.code == "" {
				rec.code = "late"
			}
			s.record(&rec)
			e.recorded = true
			wait := make(chan struct{})
			var t *time.Timer
			if hold != nil {
				hold.caught()
				wait = hold.release
			} else {
				t = time.AfterFunc(late, func() { close(wait) })
			}
			select {
			case <-wait:
			case <-r.Context().Done():
			case <-s.closed:
			}
			if t != nil {
				t.Stop()
			}
			if r.Context().Err() != nil {
				return // the caller gave up: it never learns what happened
			}
		}
		if !s.travel(r, s.halfTrip(false)) && !e.recorded {
			s.record(e) // it took effect; its answer is lost on the way back
			return
		}
		h := w.Header()
		if e.code == "garbage" {
			h.Set("Content-Type", "text/html")
		} else {
			h.Set("Content-Type", "application/json;charset=utf-8")
		}
		h.Set("x-acs-request-id", uuid())
		h.Set("x-acs-trace-id", randomID(16))
		h.Set("Server", "DingTalk/1.0.0")
		w.WriteHeader(e.status)
		_, _ = w.Write(e.resp)
		if !e.recorded {
			s.record(e)
		}
	}
}

var secretFields = regexp.MustCompile(`("(?:appSecret|clientSecret)"\s*:\s*)"(?:[^"\\]|\\.)*"`)

func (s *Server) record(e *exchange) {
	req := e.body
	if len(req) > maxRecordedBody {
		req = req[:maxRecordedBody]
	}
	req = secretFields.ReplaceAll(req, []byte(`$1"[redacted]"`))
	resp := e.resp
	if e.r.URL.Path == PathAccessToken && e.status == http.StatusOK {
		resp = []byte(`{"accessToken":"[redacted]"}`)
	}
	at := e.at
	if at.IsZero() {
		at = s.now()
	}
	c := Call{
		Time: at, Method: e.r.Method, Path: e.r.URL.Path, Status: e.status, Code: e.code,
		Request: string(req), Response: string(resp), counted: e.counted,
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.callSeq++
	if m := s.opts.MaxCalls; m > 0 && len(s.calls) > m {
		s.calls = append(s.calls[:0], s.calls[len(s.calls)-m:]...)
	}
	s.notifyLocked()
	s.mu.Unlock()
}

// authed checks the access token header and the rate limit before h.
func (s *Server) authed(h func(*exchange)) func(*exchange) {
	return func(e *exchange) {
		if e.r.URL.Query().Get("access_token") != "" || strings.HasPrefix(e.r.Header.Get("Authorization"), "Bearer ") || e.r.Header.Get(headerAccessToken) == "" {
			e.fail(http.StatusBadRequest, "AuthenticationFailed.MissingParameter", "缺少参数："+headerAccessToken)
			return
		}
		s.mu.Lock()
		t, ok := s.tokens[e.r.Header.Get(headerAccessToken)]
		valid := ok && s.opts.Now().Add(s.offset).Before(t.expires)
		s.mu.Unlock()
		if !valid {
			e.fail(http.StatusBadRequest, "InvalidAuthentication", "不合法的access_token")
			return
		}
		e.app = t.app
		var allowed bool
		if e.counted, allowed = s.allow(t.app.ClientID, e.r.URL.Path); !allowed {
			e.fail(http.StatusForbidden, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "调用该接口触发了开放平台接口的应用级别限流，请稍后重试")
			return
		}
		h(e)
	}
}

// window counts the calls of one app to one API: in the current calendar
// second, or (sliding) the times of the last QPS calls.
type window struct {
	second int64
	n      int
	times  []time.Time // sliding: oldest first, at most QPS
}

// allow applies the per-app, per-API limit (the documented "limit window is
// 1 s"): by default in fixed windows of each calendar second of real time,
// or over any sliding second with Options.SlidingWindow. Which of the two
// DingTalk does is inferred. It returns the moment it counted the call (zero
// if it refused it) and whether the call may go on.
func (s *Server) allow(clientID, path string) (time.Time, bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.QPS < 0 {
		return now, true
	}
	k := clientID + " " + path
	w, ok := s.limits[k]
	if !ok {
		w = &window{}
		s.limits[k] = w
	}
	if s.opts.SlidingWindow {
		if len(w.times) >= s.opts.QPS && now.Sub(w.times[0]) < time.Second {
			return time.Time{}, false
		}
		w.times = append(w.times, now)
		if len(w.times) > s.opts.QPS {
			w.times = w.times[len(w.times)-s.opts.QPS:]
		}
		return now, true
	}
	if sec := now.Unix(); w.second != sec {
		w.second, w.n = sec, 0
	}
	w.n++
	if w.n > s.opts.QPS {
		return time.Time{}, false
	}
	return now, true
}
