package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// Refused requests are audited, but an outsider without a token must not
// be able to fill the disk or bury real records. So refusals go to their
// own trail (ledger.TrailAccess, never shown by /audit), and per minute the
// first refusal of each of a few sources is written in full (the path cut
// to maxAuditedPath), while everything after it is only counted and written
// as one summary record per minute.
const (
	maxAuditedPath   = 120 // bytes of a refused request's path that are kept
	maxSourcesMinute = 10  // sources audited in full per minute; the rest only counted
)

// deniedLog bounds what refused requests write to the audit.
type deniedLog struct {
	mu      sync.Mutex
	minute  time.Time      // the minute being counted
	sources map[string]int // refusals per source this minute
	others  int            // refusals from sources past maxSourcesMinute
}

// note records one refused request. It reports whether the request is to
// be audited in full (the first of its source this minute) and returns the
// summary of a finished minute to write, if any.
func (d *deniedLog) note(now time.Time, source string) (full bool, summary *ledger.AuditRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := now.Truncate(time.Minute)
	if !m.Equal(d.minute) {
		summary = d.summaryLocked()
		d.minute, d.sources, d.others = m, map[string]int{}, 0
	}
	switch n, ok := d.sources[source]; {
	case ok:
		d.sources[source] = n + 1
	case len(d.sources) < maxSourcesMinute:
		d.sources[source] = 1
		return true, summary
	default:
		d.others++
	}
	return false, summary
}

// flush returns the summary of a finished minute, if any; now is the time.
func (d *deniedLog) flush(now time.Time) *ledger.AuditRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.minute.IsZero() || !now.Truncate(time.Minute).After(d.minute) {
		return nil
	}
	s := d.summaryLocked()
	d.minute, d.sources, d.others = time.Time{}, nil, 0
	return s
}

// summaryLocked is the record of the refusals of d.minute that were only
// counted, or nil when there were none.
func (d *deniedLog) summaryLocked() *ledger.AuditRecord {
	extra, parts := d.others, []string{}
	srcs := make([]string, 0, len(d.sources))
	for s := range d.sources {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	for _, s := range srcs {
		if n := d.sources[s] - 1; n > 0 {
			extra += n
			parts = append(parts, fmt.Sprintf("%s: %d", s, n))
		}
	}
	if d.others > 0 {
		parts = append(parts, fmt.Sprintf("other sources: %d", d.others))
	}
	if extra == 0 {
		return nil
	}
	return &ledger.AuditRecord{At: d.minute.Add(time.Minute), Actor: "http", Action: "http.unauthorized", Trail: ledger.TrailAccess,
		Scope: fmt.Sprintf("%d more refused request(s) in the minute from %s", extra, d.minute.Format("15:04")), Note: strings.Join(parts, ", ")}
}

// source is the address a request came from, without its port (a client
// picks a new port per connection).
func source(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// clip cuts s to n bytes on a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// refuse audits a request refused for its token, within deniedLog's bounds.
func (a *API) refuse(r *http.Request, problem string) {
	a.Metrics.unauthorized()
	src := source(r)
	full, summary := a.denied.note(a.now(), src)
	if rec, ok := r.Context().Value(recorderKey{}).(*recorder); ok {
		rec.log = full
	}
	if summary != nil {
		a.writeAccess(r.Context(), *summary)
	}
	if full {
		a.writeAccess(r.Context(), ledger.AuditRecord{At: a.now(), Actor: "http:" + src, Action: "http.unauthorized", Trail: ledger.TrailAccess,
			Scope: r.Method + " " + clip(r.URL.Path, maxAuditedPath), Note: problem})
	}
}

// Refused audits a request refused for its credentials elsewhere than at
// /v1 (a wrong token at the console's login form): the access trail, the
// same per-minute bounds as the API's own refusals (one budget for both,
// so a flood at the form cannot bury records either), and
// recallbot_http_unauthorized_total. problem says why, in a few words;
// never the token.
func (a *API) Refused(r *http.Request, problem string) { a.refuse(r, problem) }

// FlushDenied writes the summary of refused requests of a minute that is
// over, if any; the bot calls it every few seconds.
func (a *API) FlushDenied(ctx context.Context) {
	if s := a.denied.flush(a.now()); s != nil {
		a.writeAccess(ctx, *s)
	}
}

func (a *API) writeAccess(ctx context.Context, r ledger.AuditRecord) {
	if _, err := a.Ledger.AppendAudit(context.WithoutCancel(ctx), r); err != nil {
		a.Log.Error("refused request not audited", zap.Error(err))
	}
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
