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

	"golang.org/x/time/rate"
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
			jsonError(w, http.StatusUnauthorized, c.t("err.session"))
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

// Failed logins are limited per source address: loginBurst at once, then
// one per loginEvery. A source past its limit is refused before its token
// is even compared, so guessing the token is slow whatever it tries.
const (
	loginBurst   = 5
	loginEvery   = 30 * time.Second
	loginSources = 1024 // sources tracked; past it the map starts again
)

type loginLimiter struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// blocked reports whether src may not try now, and when it may.
func (l *loginLimiter) blocked(src string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[src]
	if lim == nil || lim.TokensAt(now) >= 1 {
		return false, 0
	}
	wait := time.Duration((1 - lim.TokensAt(now)) * float64(loginEvery))
	return true, wait.Round(time.Second) + time.Second
}

// failed records a failed login of src.
func (l *loginLimiter) failed(src string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) >= loginSources {
		l.m = map[string]*rate.Limiter{}
	}
	lim := l.m[src]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(loginEvery), loginBurst)
		l.m[src] = lim
	}
	lim.AllowN(now, 1)
}

// source is the address a request came from, without its port.
func source(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
