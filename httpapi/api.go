// Package httpapi is recallbot's local HTTP API: other systems send
// through the bot so that their messages are ledgered and recallable,
// recall them, resolve entries in doubt, and read the audit trail; every
// /v1 route needs the bearer token. It also serves the health, readiness
// and Prometheus metrics endpoints, and holds the metrics.
package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/internal/jsonkeys"
	"github.com/recallbot/recallbot/internal/refusals"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Ledger is what the API reads and writes of the ledger directly; sends
// and recalls go through the Sender and the Engine. It lists and looks up
// entries (EntryLister, EntryReader), reads and writes the audit trails
// (AuditStore), and keeps confirmation codes, command dedupe and the async
// recalls' progress (TempStore).
type Ledger interface {
	ledger.EntryLister
	ledger.EntryReader
	ledger.AuditStore
	ledger.TempStore
}

// API is the local HTTP API: other systems send through the bot so their
// messages are ledgered and recallable, and recall them. Every /v1 route
// needs "Authorization: Bearer <token>"; a wrong or missing token is 401
// and audited. Errors are JSON {"error": {"code", "message"}}.
type API struct {
	Token       string
	Ledger      Ledger
	Sender      *recall.Sender
	Engine      *recall.Engine
	Broadcaster *recall.Broadcaster
	Log         *zap.Logger
	Metrics     *Metrics
	// Ready reports whether the bot can work (Stream connected).
	Ready func() bool
	// Locale for the sentences in error messages; default "zh".
	Locale string
	// QPS is DingTalk's pace, to state what asking for read status costs.
	QPS float64
	// AutoRecall, when set, serves replace, retract and the breaker.
	AutoRecall *autorecall.Service
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Go runs work that outlives its request (an asynchronous recall) on
	// the app's background context, which owns it; without it the API
	// runs such work itself (Wait waits for it).
	Go func(func(context.Context))
	// UI, when set, is the operator's console (package console), served
	// under /ui/ on the same listener. It authenticates its own requests
	// (a session cookie got with the same token) and acts through the /v1
	// routes; the bearer check of /v1 does not apply to it.
	UI http.Handler
	// Alerts, when set, receives Alertmanager's and Grafana's webhook
	// notifications at POST /v1/alerts/{source} (package alerts).
	Alerts http.Handler

	denied refusals.Counter // bounds what refused requests write
	jobs   sync.WaitGroup   // work requests started, when Go is nil
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// maxAlertsBody bounds an alert notification: Alertmanager sends a whole
// group in each (alerts.MaxBody).
const maxAlertsBody = 8 << 20

// maxURL bounds a request's URL; longer ones are refused with 414 before
// anything else (nothing of them is written anywhere).
const maxURL = 2048

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", a.readyz)
	if a.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	v1 := map[string]http.HandlerFunc{
		"POST /v1/messages":                   a.postMessage,
		"POST /v1/broadcasts":                 a.postBroadcast,
		"GET /v1/broadcasts/{id}":             a.getBroadcast,
		"DELETE /v1/broadcasts/{id}":          a.deleteBroadcast,
		"POST /v1/recalls":                    a.postRecall,
		"GET /v1/recalls/{id}":                a.getRecall,
		"GET /v1/conversations/{id}/messages": a.getConversation,
		"GET /v1/messages/{key...}":           a.getMessage,
		"GET /v1/audit":                       a.getAudit,
		"GET /v1/entries/{state}":             a.getInState,
		"POST /v1/entries/{id}/resolve":       a.postResolve,
	}
	if a.AutoRecall != nil {
		v1["POST /v1/messages/{key}/replace"] = a.postReplace
		v1["POST /v1/messages/{key}/retract"] = a.postRetract
		v1["GET /v1/autorecall"] = a.getAutoRecall
		v1["POST /v1/autorecall/resume"] = a.postResume
	}
	// Without it, ServeMux would answer GET /v1/messages with an HTML
	// redirect to the {key...} route.
	v1["GET /v1/messages"] = func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "name a message: GET /v1/messages/{process_query_key} (path-escaped), or list a chat: GET /v1/conversations/{id}/messages")
	}
	for pattern, h := range v1 {
		limit := int64(maxBody)
		if pattern == "POST /v1/broadcasts" {
			limit = maxBroadcastBody
		}
		mux.Handle(pattern, a.auth(h, limit))
	}
	if a.Alerts != nil { // a notification holds its whole alert group
		mux.Handle("POST /v1/alerts/{source}", a.auth(a.Alerts.ServeHTTP, maxAlertsBody))
	}
	// Unknown routes under /v1/ answer only with the token: no one
	// without it learns which routes exist.
	mux.Handle("/v1/", a.auth(notFound, maxBody))
	if a.UI != nil {
		mux.Handle("/ui/", a.UI)
	}
	mux.HandleFunc("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK, log: true}
		start := a.now()
		r = r.WithContext(context.WithValue(r.Context(), recorderKey{}, rec))
		if len(r.RequestURI) > maxURL {
			apiError(rec, http.StatusRequestURITooLong, "uri_too_long", fmt.Sprintf("the URL is longer than %d bytes", maxURL))
		} else {
			mux.ServeHTTP(rec, r)
		}
		a.accessLog(r, rec, a.now().Sub(start))
	})
}

// recorder keeps a response's status for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	log    bool // false for refusals past the counter's bounds
}

type recorderKey struct{}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// accessLog writes one line per request: method, route pattern (never the
// path, which may hold a key), status, duration, the caller's address and
// whether it showed the token. Never the token. Refusals are logged within
// the audit's per-minute bounds.
func (a *API) accessLog(r *http.Request, rec *recorder, took time.Duration) {
	if !rec.log || a.Log == nil {
		return
	}
	route := r.Pattern
	if route == "" || route == "/" {
		route = "(no route)"
	}
	a.Log.Info("http request", zap.String("method", r.Method), zap.String("route", route), zap.Int("status", rec.status),
		zap.Duration("took", took), zap.String("remote", source(r)), zap.Bool("authorized", rec.status != http.StatusUnauthorized))
}

func notFound(w http.ResponseWriter, r *http.Request) {
	apiError(w, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	_, err := a.Ledger.Counts(ctx)
	stream := a.Ready == nil || a.Ready()
	writing := a.Sender == nil || a.Sender.Writing()
	if err != nil || !stream || !writing {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "stream_connected": stream, "ledger_ok": err == nil, "ledger_writes_ok": writing})
		return
	}
	writeJSON(w, 200, map[string]any{"ready": true, "stream_connected": true, "ledger_ok": true, "ledger_writes_ok": true})
}

// auth checks the bearer token in constant time and audits refusals; the
// body of an authorized request is bounded to limit bytes.
func (a *API) auth(h http.HandlerFunc, limit int64) http.Handler {
	want := []byte(a.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		// The scheme is case-insensitive (RFC 7235): "bearer" is "Bearer".
		tok := got
		if len(tok) > 7 && strings.EqualFold(string(tok[:7]), "bearer ") {
			tok = tok[7:]
		} else {
			tok = nil
		}
		if a.Token == "" || subtle.ConstantTimeCompare(tok, want) != 1 {
			a.refuse(r, tokenProblem(got))
			w.Header().Set("WWW-Authenticate", `Bearer realm="recallbot"`)
			apiError(w, http.StatusUnauthorized, "unauthorized", "a valid Authorization: Bearer token is required")
			return
		}
		if err := checkClient(r.URL.Query().Get("client")); err != nil {
			apiError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h(w, r)
	})
}

func tokenProblem(got []byte) string {
	if len(got) == 0 {
		return "no Authorization header"
	}
	return "wrong token"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// decode reads a JSON object strictly: unknown fields are errors, and so
// is a key given twice, which Go's decoder would let the later one win
// (jsonkeys.Repeated: "user_id" twice must not send to the second). A
// "client" must pass checkClient.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			apiError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d KiB", mbe.Limit>>10))
			return false
		}
		apiError(w, http.StatusBadRequest, "bad_request", "the body could not be read: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "the body must be a JSON object: "+err.Error())
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		apiError(w, http.StatusBadRequest, "bad_request", "the body must hold one JSON object")
		return false
	}
	if err := jsonkeys.Repeated(body); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "the body is ambiguous: "+err.Error())
		return false
	}
	var named struct {
		Client string `json:"client"`
	}
	_ = json.Unmarshal(body, &named) // decoded strictly above: a client, if any, is a string
	if err := checkClient(named.Client); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return false
	}
	return true
}

func (m *Metrics) unauthorized() {
	if m != nil {
		m.httpDenied.Inc()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer (for
// flushing streamed answers).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
