// Package console is the operator's console of a running bot, served under
// /ui/ on the bot's HTTP listener: what was sent, where, when and by whom;
// who read it; previews and recalls with the chat's confirmation rule and
// live progress; broadcasts; entries in doubt; the audit and access
// trails; the auto-recall breaker.
//
// It holds no power of its own. An operator logs in with the HTTP API's
// token and a name; every action then is one of the operator's actions
// (package operator), the very definitions the API's /v1 handlers call,
// with the name as the client, so the console does exactly what the API
// does and is audited as "api:<name>". It reads the ledger only for the
// lists the API has none of (every chat's messages, the broadcast jobs,
// the counts). Nothing on the send or recall path calls it.
//
// Pages are rendered on the server (html/template escapes everything); a
// little JavaScript (console.js, text set with textContent only) fetches
// read status and follows progress over server-sent events. Assets are
// embedded; the Content-Security-Policy allows scripts and styles from the
// console itself only.
package console

import (
	"embed"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
)

//go:embed templates static
var assets embed.FS

// Ledger is what the console reads of the ledger directly: lists the HTTP
// API does not offer (EntryLister, EntryReader, JobStore's Jobs). Every
// change goes through the Operator; it writes only its own login records
// (AuditStore).
type Ledger interface {
	ledger.EntryLister
	ledger.EntryReader
	ledger.JobStore
	ledger.AuditStore
	ledger.ChatStore
}

// Config is the console's wiring and knobs; zero knobs take the defaults
// (the bot's own: confirm above 10 messages, codes valid 2 minutes).
type Config struct {
	// Token is the HTTP API's bearer token: the login form asks for it.
	// It never leaves the process: the session cookie holds a random id.
	Token string
	// Operator carries out every action and most reads, as the HTTP API
	// does them.
	Operator *operator.Operator
	// Ledger is read for every chat's messages, broadcasts and counts.
	Ledger Ledger
	// Refused audits a failed login in the access trail within the API's
	// per-minute bounds (httpapi.API.Refused); nil audits nothing.
	Refused func(r *http.Request, why, note string)
	Log     *zap.Logger
	// Locale of the labels: "zh" (default) or "en", as the bot's replies.
	Locale string
	// ConfirmAbove and ConfirmTTL are the chat's rule (recall.confirm_above,
	// recall.confirm_ttl): a recall of more messages, or reaching beyond
	// one chat, needs a typed confirmation within ConfirmTTL.
	ConfirmAbove int
	ConfirmTTL   time.Duration
	// Window is DingTalk's recall window (recall.window), for the time
	// each message has left.
	Window time.Duration
	// FailedLoginsPerMinute is the overall budget of failed logins, from
	// every address together: past it every login is refused (429) before
	// its token is compared, until it refills; default 30.
	FailedLoginsPerMinute int
	// SessionIdle and SessionMax end a session unused for SessionIdle, or
	// SessionMax after its login; defaults 30 minutes and 12 hours.
	SessionIdle, SessionMax time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Console serves the console's pages under /ui/.
type Console struct {
	cfg      Config
	pages    map[string]*pageTemplate
	sessions sessions
	plans    plans
	logins   *loginLimiter
	mux      *http.ServeMux

	stopOnce sync.Once
	stop     chan struct{} // closed when the server shuts down: streams end
}

// New returns a Console for cfg.
func New(cfg Config) *Console {
	if cfg.Locale != "en" {
		cfg.Locale = "zh"
	}
	if cfg.ConfirmAbove <= 0 {
		cfg.ConfirmAbove = 10
	}
	if cfg.ConfirmTTL <= 0 {
		cfg.ConfirmTTL = 2 * time.Minute
	}
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FailedLoginsPerMinute <= 0 {
		cfg.FailedLoginsPerMinute = defaultFailedLoginsPerMinute
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	c := &Console{cfg: cfg, stop: make(chan struct{}), logins: newLoginLimiter(cfg.FailedLoginsPerMinute)}
	c.pages = parsePages(cfg.Locale)
	c.routes()
	return c
}

// Shutdown ends the console's open event streams, so that a server
// shutting down is not held by a browser following a recall. Register it
// with http.Server.RegisterOnShutdown.
func (c *Console) Shutdown() { c.stopOnce.Do(func() { close(c.stop) }) }

func (c *Console) now() time.Time { return c.cfg.Now() }

func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /ui/static/{file}", c.static)
	m.HandleFunc("GET /ui/login", c.loginPage)
	m.HandleFunc("POST /ui/login", c.login)
	for pattern, h := range map[string]handler{
		"GET /ui/{$}":                     c.messages,
		"GET /ui/read":                    c.readStatus,
		"GET /ui/recalls/{id}":            c.recallPage,
		"GET /ui/recalls/{id}/events":     c.recallEvents,
		"GET /ui/broadcasts":              c.broadcasts,
		"GET /ui/broadcasts/{id}":         c.broadcastPage,
		"GET /ui/broadcasts/{id}/events":  c.broadcastEvents,
		"GET /ui/entries":                 c.entries,
		"GET /ui/audit":                   c.audit,
		"POST /ui/logout":                 c.logout,
		"POST /ui/preview":                c.preview,
		"POST /ui/recall":                 c.recall,
		"POST /ui/broadcasts/{id}/cancel": c.cancelBroadcast,
		"POST /ui/entries/{id}/resolve":   c.resolve,
		"POST /ui/autorecall/resume":      c.resume,
		"/ui/":                            c.notFound,
	} {
		m.Handle(pattern, c.authed(h))
	}
	c.mux = m
}

// ServeHTTP serves /ui/ with the console's security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// Not no-referrer: browsers then send "Origin: null" with the
	// console's own form posts, which sameOrigin must refuse.
	h.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/ui/static/") {
		h.Set("Cache-Control", "no-store") // pages hold message texts and a CSRF token
	}
	c.mux.ServeHTTP(w, r)
}

// handler is a console handler: the request's session is established.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	c.fail(w, r, s, http.StatusNotFound, c.t("err.notfound"))
}

func (c *Console) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := assets.ReadFile("static/" + name)
	if err != nil || strings.ContainsAny(name, "/\\") {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
