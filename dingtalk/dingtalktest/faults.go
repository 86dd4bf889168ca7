package dingtalktest

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// FaultKind is a way an OpenAPI call can go wrong.
type FaultKind string

// Fault kinds for Fail.
const (
	// FaultServerError answers HTTP 500 system.error.
	FaultServerError FaultKind = "5xx"
	// FaultUnavailable answers HTTP 503 with DingTalk's error shape.
	FaultUnavailable FaultKind = "503"
	// FaultQPS answers HTTP 403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi.
	FaultQPS FaultKind = "qps"
	// FaultGarbage answers HTTP 502 with an HTML body, as a proxy would.
	FaultGarbage FaultKind = "garbage"
	// FaultHang never answers until the caller gives up or the server closes.
	FaultHang FaultKind = "hang"
)

// AnyAPI makes a fault apply to every OpenAPI path.
const AnyAPI = "*"

type faultSet struct {
	mu     sync.Mutex
	queue  map[string][]FaultKind     // path -> faults for the next calls, in order
	keys   map[string][]string        // processQueryKey -> failedResult reasons for its next recalls
	delays map[string][]time.Duration // path -> delays before the next calls are answered
	late   map[string][]time.Duration // path -> delays after the next calls took effect, before the answer
	held   map[string][]*Hold         // path -> holds on the answers of the next calls (HoldAnswers)
}

func (f *faultSet) init() {
	f.queue = map[string][]FaultKind{}
	f.keys = map[string][]string{}
	f.delays = map[string][]time.Duration{}
	f.late = map[string][]time.Duration{}
	f.held = map[string][]*Hold{}
}

// DelayAnswer makes the next n calls to path (or AnyAPI) take effect at
// once and then wait d before answering: a DingTalk that applied a send or
// a recall but answers too late for the caller, who cannot tell whether
// anything happened.
func (s *Server) DelayAnswer(path string, d time.Duration, n int) {
	s.faults.mu.Lock()
	for range n {
		s.faults.late[path] = append(s.faults.late[path], d)
	}
	s.faults.mu.Unlock()
	s.notify()
}

// Delay makes the next n calls to path (or AnyAPI) wait d before they are
// answered normally: a slow DingTalk. InFlight shows them waiting.
func (s *Server) Delay(path string, d time.Duration, n int) {
	s.faults.mu.Lock()
	for range n {
		s.faults.delays[path] = append(s.faults.delays[path], d)
	}
	s.faults.mu.Unlock()
	s.notify()
}

func (f *faultSet) takeDelay(path string) time.Duration { return f.takeFrom(f.delays, path) }
func (f *faultSet) takeLate(path string) time.Duration  { return f.takeFrom(f.late, path) }

func (f *faultSet) takeFrom(m map[string][]time.Duration, path string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range []string{path, AnyAPI} {
		if q := m[p]; len(q) > 0 {
			m[p] = q[1:]
			return q[0]
		}
	}
	return 0
}

// Fail makes the next n calls to path (or AnyAPI) fail with kind. Faults
// queue up in the order they were added.
func (s *Server) Fail(path string, kind FaultKind, n int) {
	s.faults.mu.Lock()
	for range n {
		s.faults.queue[path] = append(s.faults.queue[path], kind)
	}
	s.faults.mu.Unlock()
	s.notify()
}

// FailKey makes the next n recalls of key report it in failedResult with
// reason (e.g. "SYSTEM_ERROR") instead of recalling it.
func (s *Server) FailKey(key, reason string, n int) {
	s.faults.mu.Lock()
	for range n {
		s.faults.keys[key] = append(s.faults.keys[key], reason)
	}
	s.faults.mu.Unlock()
	s.notify()
}

// ClearFaults drops every pending fault: the OpenAPI faults and delays,
// the per-key recall failures, and the frames and ACKs armed to be dropped
// or duplicated.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.init()
	s.faults.mu.Unlock()
	s.mu.Lock()
	s.stream.dropFrames, s.stream.dupFrames, s.stream.dropACKs = 0, 0, 0
	s.notifyLocked()
	s.mu.Unlock()
}

// ArmedFault is a fault waiting for the calls, keys or frames it will
// apply to, as the console lists them.
type ArmedFault struct {
	What   string `json:"what"`   // "5xx", "slow 3s", "recall failure SYSTEM_ERROR", "drop frame", …
	Target string `json:"target"` // the path, "*" for any, a processQueryKey, or "stream"
	Count  int    `json:"count"`
}

// ArmedFaults lists the faults not yet used up, grouped by kind and target.
func (s *Server) ArmedFaults() []ArmedFault {
	var out []ArmedFault
	add := func(what, target string) {
		if n := len(out); n > 0 && out[n-1].What == what && out[n-1].Target == target {
			out[n-1].Count++
			return
		}
		out = append(out, ArmedFault{What: what, Target: target, Count: 1})
	}
	s.faults.mu.Lock()
	for _, p := range sortedKeys(s.faults.queue) {
		for _, k := range s.faults.queue[p] {
			add(string(k), p)
		}
	}
	for _, p := range sortedKeys(s.faults.delays) {
		for _, d := range s.faults.delays[p] {
			add("slow "+d.String(), p)
		}
	}
	for _, p := range sortedKeys(s.faults.late) {
		for _, d := range s.faults.late[p] {
			add("late "+d.String(), p)
		}
	}
	for _, p := range sortedKeys(s.faults.held) {
		for range s.faults.held[p] {
			add("answer held", p)
		}
	}
	for _, k := range sortedKeys(s.faults.keys) {
		for _, r := range s.faults.keys[k] {
			add("recall failure "+r, k)
		}
	}
	s.faults.mu.Unlock()
	s.mu.Lock()
	for _, f := range []struct {
		what string
		n    int
	}{{"drop frame", s.stream.dropFrames}, {"duplicate frame", s.stream.dupFrames}, {"drop ACK", s.stream.dropACKs}} {
		if f.n > 0 {
			out = append(out, ArmedFault{What: f.what, Target: "stream", Count: f.n})
		}
	}
	s.mu.Unlock()
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k, v := range m {
		_ = v
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (f *faultSet) take(path string) (FaultKind, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range []string{path, AnyAPI} {
		if q := f.queue[p]; len(q) > 0 {
			f.queue[p] = q[1:]
			return q[0], true
		}
	}
	return "", false
}

func (f *faultSet) takeKey(key string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := f.keys[key]; len(q) > 0 {
		f.keys[key] = q[1:]
		return q[0], true
	}
	return "", false
}

// applyFault answers e with the next queued fault for its path, if any, and
// reports whether it did. The gateway and token routes are included.
func (s *Server) applyFault(e *exchange) bool {
	kind, ok := s.faults.take(e.r.URL.Path)
	if !ok {
		return false
	}
	s.logf("emulator: fault %s on %s", kind, e.r.URL.Path)
	switch kind {
	case FaultServerError:
		e.fail(http.StatusInternalServerError, "system.error", "系统错误")
	case FaultUnavailable:
		e.fail(http.StatusServiceUnavailable, "ServiceUnavailable", "服务暂不可用")
	case FaultQPS:
		e.fail(http.StatusForbidden, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "调用该接口触发了开放平台接口的应用级别限流，请稍后重试")
	case FaultGarbage:
		e.status, e.code, e.resp = http.StatusBadGateway, "garbage", []byte("<html><body><h1>502 Bad Gateway</h1></body></html>")
	case FaultHang:
		select {
		case <-e.r.Context().Done():
		case <-s.closed:
		}
		// Hijack-free hang-up: the handler returns without writing; the
		// client has already given up, or the server is closing.
		if hj, ok := e.w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
		s.record(&exchange{s: s, r: e.r, body: e.body, status: 0, code: "hang"})
	}
	return true
}

// faultPath reads the api of a control API fault: empty or "*" for every
// API, an OpenAPI path, or the short name the emulator's console shows for
// it (groupMessages/send). A name that matches no API the emulator answers
// is refused (ok false): a fault armed on it would never fire.
func faultPath(api string) (path string, ok bool) {
	if api == "" || api == AnyAPI {
		return AnyAPI, true
	}
	for _, p := range consoleAPIs {
		if api == p || strings.Trim(api, "/") == apiName(p) {
			return p, true
		}
	}
	return "", false
}

// faultAPINames lists the short names faultPath takes, for its refusal.
func faultAPINames() []string {
	names := make([]string, 0, len(consoleAPIs))
	for _, p := range consoleAPIs {
		names = append(names, apiName(p))
	}
	return names
}
