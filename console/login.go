package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recallbot/recallbot/internal/refusals"
	"github.com/recallbot/recallbot/ledger"
)

// maxName bounds an operator's name, in characters.
const maxName = 64

// loginView is the login form.
type loginView struct {
	Next, Name string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.session(r) != nil {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, "login", c.t("login.title"), "", loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

// validName reports whether a name can stand in the audit trail as
// "api:<name>": letters, digits and . _ - @, at most maxName.
func validName(n string) bool {
	if n == "" || utf8.RuneCountInString(n) > maxName {
		return false
	}
	for _, r := range n {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
			return false
		}
	}
	return true
}

// safeNext is where to go after logging in: a console path, never another
// site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") || !strings.HasPrefix(u.Path, "/ui/") ||
		strings.HasPrefix(u.Path, "/ui/login") {
		return "/ui/"
	}
	return u.RequestURI()
}

// login checks the token and the name and opens a session: a random id in
// an HttpOnly, SameSite=Strict cookie for /ui/. A wrong token is refused,
// audited in the access trail within the API's bounds, and counted
// against the source's limit and the overall one; past either the token
// is not even compared.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if !sameOrigin(r) {
		c.refused(r, "cross_site_login", "")
		c.render(w, r, nil, http.StatusForbidden, "login", c.t("login.title"), "", loginView{Next: "/ui/"}, c.t("err.csrf"))
		return
	}
	now := c.now()
	src := source(r)
	name := strings.TrimSpace(r.PostFormValue("name"))
	v := loginView{Next: safeNext(r.PostFormValue("next")), Name: name}
	if by, wait := c.logins.attempt(src, now); by != notLimited {
		if by == overallLimited {
			c.limitedOverall(r, now)
		} else {
			c.refused(r, "too_many_failed_logins", "")
		}
		wait = retryAfter(wait)
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())))
		c.render(w, r, nil, http.StatusTooManyRequests, "login", c.t("login.title"), "", v, c.tf("login.limited", c.duration(wait)))
		return
	}
	if !tokenOK(r.PostFormValue("token"), c.cfg.Token) {
		c.refused(r, "wrong_token", fmt.Sprintf("%q", clip(name, maxName)))
		c.render(w, r, nil, http.StatusUnauthorized, "login", c.t("login.title"), "", v, c.t("login.wrong"))
		return
	}
	c.logins.succeeded(src, now)
	if !validName(name) {
		c.render(w, r, nil, http.StatusBadRequest, "login", c.t("login.title"), "", v, c.tf("login.badname", maxName))
		return
	}
	s := c.sessions.create(name, now)
	setCookie(w, r, s.id, 0)
	c.accessAudit(r.Context(), ledger.AuditRecord{At: now, Actor: s.actor(), Action: "console.login", Allowed: true,
		Scope: "POST /ui/login", Note: src}) // an address needs no words in either language
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.drop(s.id)
	setCookie(w, r, "", -1)
	c.accessAudit(r.Context(), ledger.AuditRecord{At: c.now(), Actor: s.actor(), Action: "console.logout", Allowed: true,
		Scope: "POST /ui/logout", Note: source(r)})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// limitedOverall audits a try refused by the overall budget of failed
// logins: the first of a minute in the access trail at once, the rest
// counted into one record when the minute is over (FlushRefused).
func (c *Console) limitedOverall(r *http.Request, now time.Time) {
	full, summary := c.logins.limited.Note(now, "all addresses")
	if summary != nil {
		c.accessAudit(r.Context(), limitedSummary(summary))
	}
	if full {
		c.accessAudit(r.Context(), ledger.AuditRecord{At: now, Actor: "console", Action: "console.login_limited", Scope: "POST /ui/login",
			Why: "logins_limited_overall", Note: source(r)}) // the first address refused: a fact, no words
	}
}

// limitedSummary is the record of a minute's tries refused by the overall
// budget that were only counted.
func limitedSummary(m *refusals.Minute) ledger.AuditRecord {
	return m.Record("console", "console.login_limited", ledger.TrailAccess)
}

// FlushRefused writes the summary of a finished minute's logins refused
// by the overall budget, if any; the bot calls it every few seconds.
func (c *Console) FlushRefused(ctx context.Context) {
	if s := c.logins.limited.Flush(c.now()); s != nil {
		c.accessAudit(ctx, limitedSummary(s))
	}
}

func (c *Console) refused(r *http.Request, why, note string) {
	if c.cfg.Refused != nil {
		c.cfg.Refused(r, why, note)
	}
}

// accessAudit writes to the access trail: logins and logouts are about who
// got in, not about recalls, and stay out of the recall trail chat's
// /audit shows.
func (c *Console) accessAudit(ctx context.Context, rec ledger.AuditRecord) {
	rec.Trail = ledger.TrailAccess
	if _, err := c.cfg.Ledger.AppendAudit(context.WithoutCancel(ctx), rec); err != nil {
		c.cfg.Log.Error("console: login not audited", errField(err))
	}
}

// clip cuts s to n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
