package httpapi

import (
	"context"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/internal/refusals"
	"github.com/recallbot/recallbot/ledger"
)

// Refused requests are audited, but an outsider without a token must not
// be able to fill the disk or bury real records. So refusals go to their
// own trail (ledger.TrailAccess, never shown by /audit), within the bounds
// of a refusals.Counter: per minute the first refusal of each of a few
// sources is written in full (the path cut to maxAuditedPath), and the
// rest are only counted, into one summary record per minute.
const maxAuditedPath = 120 // bytes of a refused request's path that are kept

// deniedSummary is the record of a minute's refused requests that were only
// counted.
func deniedSummary(m *refusals.Minute) ledger.AuditRecord {
	return m.Record("http", "http.unauthorized", ledger.TrailAccess)
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
func (a *API) refuse(r *http.Request, why, note string) {
	a.Metrics.unauthorized()
	src := source(r)
	full, summary := a.denied.Note(a.now(), src)
	if rec, ok := r.Context().Value(recorderKey{}).(*recorder); ok {
		rec.log = full
	}
	if summary != nil {
		a.writeAccess(r.Context(), deniedSummary(summary))
	}
	if full {
		a.writeAccess(r.Context(), ledger.AuditRecord{At: a.now(), Actor: "http:" + src, Action: "http.unauthorized", Trail: ledger.TrailAccess,
			Scope: r.Method + " " + clip(r.URL.Path, maxAuditedPath), Why: why, Note: note})
	}
}

// Refused audits a request refused for its credentials elsewhere than at
// /v1 (a wrong token at the console's login form): the access trail, the
// same per-minute bounds as the API's own refusals (one budget for both,
// so a flood at the form cannot bury records either), and
// recallbot_http_unauthorized_total. why is the reason as a code (the
// audit's words render it in the reader's language: recall's whyWords),
// note a fact beside it (what name was typed); never the token.
func (a *API) Refused(r *http.Request, why, note string) { a.refuse(r, why, note) }

// FlushDenied writes the summary of refused requests of a minute that is
// over, if any; the bot calls it every few seconds.
func (a *API) FlushDenied(ctx context.Context) {
	if s := a.denied.Flush(a.now()); s != nil {
		a.writeAccess(ctx, deniedSummary(s))
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
