// Package httpapi is recallbot's local HTTP API: other systems send
// through the bot so that their messages are ledgered and recallable,
// recall them, resolve entries in doubt, and read the audit trail; every
// /v1 route needs the bearer token. It also serves the health, readiness
// and Prometheus metrics endpoints, and holds the metrics.
//
// The API is the HTTP side of the operator's actions (package operator):
// a handler checks the token, decodes the request into its type of
// package api, calls the action and writes its answer or its *api.Error.
// What an action does, and what it refuses, is the operator's.
package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/internal/jsonkeys"
	"github.com/recallbot/recallbot/internal/refusals"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
)

// Ledger is what the API writes of the ledger itself: the access trail of
// refused requests (AuditStore). Everything else goes through the Operator.
type Ledger interface {
	ledger.AuditStore
}

// API is the local HTTP API: other systems send through the bot so their
// messages are ledgered and recallable, and recall them. Every /v1 route
// needs "Authorization: Bearer <token>"; a wrong or missing token is 401
// and audited. Errors are the envelope of api.Error.
type API struct {
	Token string
	// Operator carries out every /v1 action.
	Operator *operator.Operator
	// Ledger takes the records of refused requests.
	Ledger  Ledger
	Log     *zap.Logger
	Metrics *Metrics
	// Now is the clock; default time.Now.
	Now func() time.Time
	// UI, when set, is the operator's console (package console), served
	// under /ui/ on the same listener. It authenticates its own requests
	// (a session cookie got with the same token) and acts through the
	// same Operator; the bearer check of /v1 does not apply to it.
	UI http.Handler
	// Alerts, when set, receives Alertmanager's and Grafana's webhook
	// notifications at POST /v1/alerts/{source} (package alerts).
	Alerts http.Handler

	denied refusals.Counter // bounds what refused requests write
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
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, api.Health{Status: "ok"}) })
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
	if a.Operator.AutoRecallOn() {
		v1["POST /v1/messages/{key}/replace"] = a.postReplace
		v1["POST /v1/messages/{key}/retract"] = a.postRetract
		v1["GET /v1/autorecall"] = a.getAutoRecall
		v1["POST /v1/autorecall/resume"] = a.postResume
	}
	// Without it, ServeMux would answer GET /v1/messages with an HTML
	// redirect to the {key...} route.
	v1["GET /v1/messages"] = func(w http.ResponseWriter, r *http.Request) {
		writeError(w, refusal(http.StatusNotFound, "not_found", "messages_index"))
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
	mux.HandleFunc("GET /{$}", a.root)
	mux.HandleFunc("GET /favicon.ico", a.favicon)
	mux.HandleFunc("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK, log: true}
		start := a.now()
		r = r.WithContext(context.WithValue(r.Context(), recorderKey{}, rec))
		// The language of the answer's words, its refusals' too
		// (writeError); the console states its own.
		if !strings.HasPrefix(r.URL.Path, "/ui/") {
			w.Header().Set("Content-Language", a.Operator.Locale())
		}
		if len(r.RequestURI) > maxURL {
			writeError(rec, refusal(http.StatusRequestURITooLong, "uri_too_long", "uri_too_long", maxURL))
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
	writeError(w, refusal(http.StatusNotFound, "not_found", "no_route", r.Method, r.URL.Path))
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	rd := a.Operator.Ready(r.Context())
	status := http.StatusOK
	if !rd.Ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rd)
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
			a.refuse(r, tokenProblem(got), "")
			w.Header().Set("WWW-Authenticate", `Bearer realm="recallbot"`)
			writeError(w, refusal(http.StatusUnauthorized, "unauthorized", "unauthorized"))
			return
		}
		if err := operator.CheckClient(r.URL.Query().Get("client")); err != nil {
			writeError(w, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h(w, r)
	})
}

// tokenProblem is why a request's credentials were refused, as a code.
func tokenProblem(got []byte) string {
	if len(got) == 0 {
		return "no_token"
	}
	return "wrong_token"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with err's envelope and status (operator.AsError),
// its sentence in the language the answer states (Content-Language, set
// on every answer: the bot's locale).
func writeError(w http.ResponseWriter, err error) {
	e := operator.AsError(err, w.Header().Get("Content-Language"))
	writeJSON(w, e.Status, e)
}

// decode reads a JSON object strictly: unknown fields are errors, and so
// is a key given twice, which Go's decoder would let the later one win
// (jsonkeys.Repeated: "user_id" twice must not send to the second). The
// operator checks the "client" it names.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, refusal(http.StatusRequestEntityTooLarge, "too_large", "too_large", mbe.Limit>>10))
			return false
		}
		writeError(w, badRequest("unreadable", err))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, badRequest("not_object", jsonWords(err)))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, badRequest("one_object"))
		return false
	}
	if err := jsonkeys.Repeated(body); err != nil {
		writeError(w, badRequest("ambiguous", repeatedWords(err)))
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
