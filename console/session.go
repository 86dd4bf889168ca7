package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/recallbot/recallbot/internal/budget"
	"github.com/recallbot/recallbot/internal/refusals"
)

// cookieName is the session cookie: a random id, never the token.
const cookieName = "recallbot_console"

// maxSessions bounds the sessions held; the least recently used goes first.
const maxSessions = 256

// session is one operator logged in: the name they gave (the API's client,
// so their actions are audited as "api:<name>") and the CSRF token their
// pages carry.
type session struct {
	id, name, csrf string
	created, seen  time.Time
}

// actor is the session's name as the audit trail writes it.
func (s *session) actor() string { return "api:" + s.name }

// sessions are held in memory: a restart (and so a rotated token) ends
// them all.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (ss *sessions) create(name string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*session{}
	}
	for len(ss.m) >= maxSessions {
		var oldest *session
		for _, s := range ss.m {
			if oldest == nil || s.seen.Before(oldest.seen) {
				oldest = s
			}
		}
		delete(ss.m, oldest.id)
	}
	s := &session{id: randomHex(32), name: name, csrf: randomHex(32), created: now, seen: now}
	ss.m[s.id] = s
	return s
}

// get returns the live session with id, touching it, or nil.
func (ss *sessions) get(id string, now time.Time, idle, most time.Duration) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	if now.Sub(s.seen) > idle || now.Sub(s.created) > most {
		delete(ss.m, id)
		return nil
	}
	s.seen = now
	cp := *s
	return &cp
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// session returns the request's live session, or nil.
func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil || len(ck.Value) != 64 {
		return nil
	}
	return c.sessions.get(ck.Value, c.now(), c.cfg.SessionIdle, c.cfg.SessionMax)
}

func setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: maxAge})
}

// wantsJSON reports whether a request comes from the page's script (fetch
// or EventSource) rather than a navigation: it gets 401, not a redirect.
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") || strings.Contains(a, "text/event-stream") || r.Header.Get("X-Requested-With") != ""
}

// authed runs h with the request's session. Without one, a navigation is
// sent to the login form (and back afterwards), a script gets 401. A
// request that changes something must also carry the session's CSRF token
// (form field "csrf" or header X-CSRF-Token) and, when the browser names
// it, come from this origin: else 403.
func (c *Console) authed(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		switch {
		case s == nil && wantsJSON(r):
			jsonError(w, http.StatusUnauthorized, "", c.t("err.session"))
			return
		case s == nil && r.Method == http.MethodGet:
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case s == nil:
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !sameOrigin(r) || !csrfOK(r, s.csrf) {
				c.fail(w, r, s, http.StatusForbidden, c.t("err.csrf"))
				return
			}
		}
		h(w, r, s)
	})
}

// csrfOK compares the request's CSRF token with the session's in
// constant time.
func csrfOK(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin refuses a request whose browser says it comes from another
// site (Origin, or Sec-Fetch-Site); a request naming neither (a script, an
// older browser) relies on the CSRF token and the SameSite cookie.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// tokenOK compares a typed token with the API's in constant time, length
// included (both are hashed first).
func tokenOK(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return want != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// Failed logins are limited per source address, loginBurst at once, then
// one per loginEvery, and overall, a budget of failed logins a minute
// shared by every address (Config.FailedLoginsPerMinute). A try past
// either limit is refused (429) before its token is even compared, so
// guessing the token is slow whatever it tries: from one address, or
// spread over thousands (whose per-address limits alone would let each
// try 5 times).
const (
	loginBurst   = 5
	loginEvery   = 30 * time.Second
	loginSources = 1024 // addresses tracked; past it the least recently seen is forgotten, one at a time
	// defaultFailedLoginsPerMinute is the overall budget: a few operators
	// mistyping, never a guessing campaign.
	defaultFailedLoginsPerMinute = 30
)

// limit says which limit refused a try.
type limit int

const (
	notLimited limit = iota
	sourceLimited
	overallLimited
)

type loginLimiter struct {
	perSource *budget.Keyed
	overall   *budget.Bucket
	perMinute int
	// limited bounds what the tries refused by the overall budget write:
	// the first of a minute in full, the rest counted into its summary.
	limited refusals.Counter
}

func newLoginLimiter(perMinute int) *loginLimiter {
	return &loginLimiter{
		perSource: budget.NewKeyed(budget.Rate{Burst: loginBurst, Every: loginEvery}, loginSources),
		overall:   budget.NewBucket(budget.Rate{Burst: perMinute, Every: time.Minute / time.Duration(perMinute)}),
		perMinute: perMinute,
		limited:   refusals.Counter{Sources: 1},
	}
}

// attempt takes a try of src at now from the overall budget and from
// src's own. It reports which limit refused it, if one did, and when a
// try would be taken again. A try taken is a failed login unless
// succeeded gives it back.
func (l *loginLimiter) attempt(src string, now time.Time) (limit, time.Duration) {
	if ok, wait := l.overall.Take(now); !ok {
		return overallLimited, wait
	}
	if ok, wait := l.perSource.Take(src, now); !ok {
		l.overall.Refund(now)
		return sourceLimited, wait
	}
	return notLimited, 0
}

// succeeded gives back the try of a login whose token was right: only
// failures count.
func (l *loginLimiter) succeeded(src string, now time.Time) {
	l.overall.Refund(now)
	l.perSource.Refund(src, now)
}

// retryAfter is a wait as whole seconds for Retry-After, rounded up.
func retryAfter(wait time.Duration) time.Duration {
	return wait.Truncate(time.Second) + time.Second
}

// source is the address a request came from, without its port.
func source(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
