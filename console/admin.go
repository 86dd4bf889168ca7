package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

// attentionStates are the states GET /v1/entries/{state} lists.
var attentionStates = []ledger.State{ledger.Pending, ledger.Recalling, ledger.RecallFailed}

// entriesView is the page of entries that need attention.
type entriesView struct {
	State   ledger.State
	States  []ledger.State
	Entries []api.Entry
}

func (c *Console) entries(w http.ResponseWriter, r *http.Request, s *session) {
	st := ledger.State(r.URL.Query().Get("state"))
	if st == "" {
		st = ledger.Pending
	}
	if !slices.Contains(attentionStates, st) {
		c.fail(w, r, s, http.StatusBadRequest, c.t("err.state"))
		return
	}
	list, err := c.cfg.Operator.Entries(r.Context(), api.State(st))
	if err != nil {
		c.failAction(w, r, s, err)
		return
	}
	v := entriesView{State: st, States: attentionStates, Entries: list.Entries}
	c.render(w, r, s, http.StatusOK, "entries", c.t("nav.entries"), "entries", v)
}

// resolve settles a pending entry, as the operator (the API's POST
// /v1/entries/{id}/resolve).
func (c *Console) resolve(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		c.fail(w, r, s, http.StatusBadRequest, c.t("err.notfound"))
		return
	}
	req := api.ResolveRequest{State: api.State(r.PostFormValue("state")), ProcessQueryKey: strings.TrimSpace(r.PostFormValue("key")),
		Note: strings.TrimSpace(r.PostFormValue("note")), Client: s.name}
	if _, err := c.cfg.Operator.Resolve(r.Context(), id, req); err != nil {
		c.failAction(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/ui/entries?state=pending&done=resolved", http.StatusSeeOther)
}

// auditView is the audit page: the recall trail or the access trail.
type auditView struct {
	Trail   string
	Records []auditRow
}

type auditRow struct {
	api.AuditRecord
	Counts []outcomeCount // the outcomes, counted
}

type outcomeCount struct {
	Outcome string
	N       int
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) {
	trail := r.URL.Query().Get("trail")
	if trail != "" && trail != ledger.TrailAccess {
		trail = ""
	}
	body, err := c.cfg.Operator.Audit(r.Context(), api.AuditQuery{Limit: 200, Trail: trail})
	if err != nil {
		c.failAction(w, r, s, err)
		return
	}
	v := auditView{Trail: trail}
	for _, rec := range body.Records {
		ar := auditRow{AuditRecord: rec}
		n := recall.CountOutcomes(rec.Outcomes)
		for _, o := range recall.Present(n) { // the receipt's order and words (count), a resolve's state too
			ar.Counts = append(ar.Counts, outcomeCount{string(o), n[o]})
		}
		v.Records = append(v.Records, ar)
	}
	c.render(w, r, s, http.StatusOK, "audit", c.t("nav.audit"), "audit", v)
}

// statusBar is the bot's state on every page: Stream and ledger readiness,
// the auto-recall breaker, entries that need attention.
type statusBar struct {
	Ready, StreamUp, LedgerOK bool
	// Breaker is "closed", "open" (paused) or "" (auto-recall is off).
	Breaker   string
	Attention int64
	// Version is the running build.
	Version string
}

func (c *Console) status(r *http.Request) *statusBar {
	ready := c.cfg.Operator.Ready(r.Context())
	st := &statusBar{Ready: ready.Ready, StreamUp: ready.StreamConnected, LedgerOK: ready.LedgerOK, Version: ready.Version}
	if br, err := c.cfg.Operator.AutoRecall(); err == nil {
		st.Breaker = "closed"
		if br.Paused {
			st.Breaker = "open"
		}
	}
	if counts, err := c.cfg.Ledger.Counts(r.Context()); err == nil {
		st.Attention = counts[ledger.Pending] + counts[ledger.RecallFailed]
	}
	return st
}

// resume closes the auto-recall breaker, as the operator (the API's POST
// /v1/autorecall/resume).
func (c *Console) resume(w http.ResponseWriter, r *http.Request, s *session) {
	if _, err := c.cfg.Operator.ResumeAutoRecall(r.Context(), s.name); err != nil {
		c.failAction(w, r, s, err)
		return
	}
	http.Redirect(w, r, backTo(r.PostFormValue("back"), "resumed"), http.StatusSeeOther)
}

// backTo is a console page to return to after an action, with a notice:
// only paths under /ui/, never another site.
func backTo(back, done string) string {
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/ui/") || strings.HasPrefix(back, "//") {
		u = &url.URL{Path: "/ui/"}
	}
	q := u.Query()
	q.Set("done", done)
	u.RawQuery = q.Encode()
	return u.String()
}

// readStatus answers the page's "read status" button: who of a message's
// recipients read it, as GET /v1/messages/{key}?read_status=1 says (its
// "read_status").
func (c *Console) readStatus(w http.ResponseWriter, r *http.Request, s *session) {
	key := r.URL.Query().Get("key")
	if key == "" {
		jsonError(w, http.StatusBadRequest, "", c.t("err.notfound"))
		return
	}
	m, err := c.cfg.Operator.Message(r.Context(), key, true)
	if err != nil {
		e := operator.AsError(err, c.cfg.Locale)
		jsonError(w, e.Status, e.Code, e.Message)
		return
	}
	if m.ReadStatus == nil {
		jsonError(w, http.StatusNotImplemented, "", c.t("read.unavailable"))
		return
	}
	writeJSON(w, http.StatusOK, m.ReadStatus)
}
