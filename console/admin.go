package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/recallbot/recallbot/ledger"
)

// attentionStates are the states GET /v1/entries/{state} lists.
var attentionStates = []ledger.State{ledger.Pending, ledger.Recalling, ledger.RecallFailed}

// entriesView is the page of entries that need attention.
type entriesView struct {
	State   ledger.State
	States  []ledger.State
	Entries []row
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
	ans := c.call(r.Context(), r, http.MethodGet, "/v1/entries/"+string(st), nil)
	var body struct {
		Entries []ledger.Entry `json:"entries"`
	}
	if !ans.ok() || ans.decode(&body) != nil {
		c.fail(w, r, s, ans.status, ans.message())
		return
	}
	v := entriesView{State: st, States: attentionStates}
	now := c.now()
	for _, e := range body.Entries {
		v.Entries = append(v.Entries, c.row(e, now))
	}
	c.render(w, r, s, http.StatusOK, "entries", c.t("nav.entries"), "entries", v)
}

// resolve settles a pending entry through POST /v1/entries/{id}/resolve,
// as the operator.
func (c *Console) resolve(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		c.fail(w, r, s, http.StatusBadRequest, c.t("err.notfound"))
		return
	}
	body := map[string]any{"state": r.PostFormValue("state"), "client": s.name}
	if k := strings.TrimSpace(r.PostFormValue("key")); k != "" {
		body["process_query_key"] = k
	}
	if n := strings.TrimSpace(r.PostFormValue("note")); n != "" {
		body["note"] = n
	}
	ans := c.call(r.Context(), r, http.MethodPost, "/v1/entries/"+strconv.FormatUint(id, 10)+"/resolve", body)
	if !ans.ok() {
		c.fail(w, r, s, ans.status, ans.message())
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
	ledger.AuditRecord
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
	path := "/v1/audit?limit=200"
	if trail != "" {
		path += "&trail=" + url.QueryEscape(trail)
	}
	ans := c.call(r.Context(), r, http.MethodGet, path, nil)
	var body struct {
		Records []ledger.AuditRecord `json:"records"`
	}
	if !ans.ok() || ans.decode(&body) != nil {
		c.fail(w, r, s, ans.status, ans.message())
		return
	}
	v := auditView{Trail: trail}
	for _, rec := range body.Records {
		ar := auditRow{AuditRecord: rec}
		n := map[string]int{}
		for _, o := range rec.Outcomes {
			o, _, _ = strings.Cut(o, ":")
			n[o]++
		}
		for o, k := range n {
			ar.Counts = append(ar.Counts, outcomeCount{o, k})
		}
		sort.Slice(ar.Counts, func(i, j int) bool {
			return ar.Counts[i].N > ar.Counts[j].N || ar.Counts[i].N == ar.Counts[j].N && ar.Counts[i].Outcome < ar.Counts[j].Outcome
		})
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
}

func (c *Console) status(r *http.Request) *statusBar {
	st := &statusBar{}
	var ready struct {
		Ready  bool `json:"ready"`
		Stream bool `json:"stream_connected"`
		Ledger bool `json:"ledger_ok"`
	}
	if ans := c.call(r.Context(), r, http.MethodGet, "/readyz", nil); ans.decode(&ready) == nil {
		st.Ready, st.StreamUp, st.LedgerOK = ready.Ready, ready.Stream, ready.Ledger
	}
	var br struct {
		Paused bool `json:"paused"`
	}
	if ans := c.call(r.Context(), r, http.MethodGet, "/v1/autorecall", nil); ans.ok() && ans.decode(&br) == nil {
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

// resume closes the auto-recall breaker (POST /v1/autorecall/resume, as
// the operator).
func (c *Console) resume(w http.ResponseWriter, r *http.Request, s *session) {
	ans := c.call(r.Context(), r, http.MethodPost, "/v1/autorecall/resume?client="+url.QueryEscape(s.name), nil)
	if !ans.ok() {
		c.fail(w, r, s, ans.status, ans.message())
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
// recipients read it, from GET /v1/messages/{key}?read_status=1. A bot
// whose API does not report read status yet answers 501.
func (c *Console) readStatus(w http.ResponseWriter, r *http.Request, s *session) {
	key := r.URL.Query().Get("key")
	if key == "" {
		jsonError(w, http.StatusBadRequest, c.t("err.notfound"))
		return
	}
	ans := c.call(r.Context(), r, http.MethodGet, "/v1/messages/"+url.PathEscape(key)+"?read_status=1", nil)
	if !ans.ok() {
		jsonError(w, ans.status, ans.message())
		return
	}
	var body struct {
		ReadStatus json.RawMessage `json:"read_status"`
	}
	if ans.decode(&body) != nil || len(body.ReadStatus) == 0 || string(body.ReadStatus) == "null" {
		jsonError(w, http.StatusNotImplemented, c.t("read.unavailable"))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body.ReadStatus)
}
