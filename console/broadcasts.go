package console

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// maxJobsShown bounds the broadcasts listed, newest first.
const maxJobsShown = 100

// jobRow is a broadcast in the list.
type jobRow struct {
	ledger.Job
	Pending int
}

// Percent is the share of recipients settled (reached, refused or
// cancelled).
func (j jobRow) Percent() int { return percent(j.Sent+j.Failed+j.Cancelled, j.Recipients) }

func (c *Console) broadcasts(w http.ResponseWriter, r *http.Request, s *session) {
	var rows []jobRow
	for _, st := range []ledger.JobState{ledger.JobRunning, ledger.JobDone, ledger.JobCancelled} {
		js, err := c.cfg.Ledger.Jobs(r.Context(), st)
		if err != nil {
			c.cfg.Log.Warn("console: listing broadcasts", errField(err))
			c.fail(w, r, s, http.StatusServiceUnavailable, c.t("err.ledger"))
			return
		}
		for _, j := range js {
			rows = append(rows, jobRow{Job: j, Pending: j.Pending()})
		}
	}
	slices.SortFunc(rows, func(a, b jobRow) int { return b.Created.Compare(a.Created) })
	if len(rows) > maxJobsShown {
		rows = rows[:maxJobsShown]
	}
	c.render(w, r, s, http.StatusOK, "broadcasts", c.t("nav.broadcasts"), "broadcasts", rows)
}

// broadcastJSON is GET /v1/broadcasts/{id}.
type broadcastJSON struct {
	BatchID    string           `json:"batch_id"`
	State      string           `json:"state"`
	Recipients int              `json:"recipients"`
	Sent       int              `json:"sent"`
	Failed     int              `json:"failed"`
	Pending    int              `json:"pending"`
	Cancelled  int              `json:"cancelled"`
	SendCalls  int              `json:"send_calls"`
	Steps      int              `json:"steps"`
	Excerpt    string           `json:"excerpt"`
	Actor      string           `json:"actor"`
	Retrying   int              `json:"retrying"`
	Refused    []ledger.Refusal `json:"refused"`
	InFlight   []struct {
		People int `json:"people"`
	} `json:"in_flight"`
	CancelledBy string    `json:"cancelled_by"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// InFlightPeople is how many people the calls on the wire are for.
func (b broadcastJSON) InFlightPeople() int {
	n := 0
	for _, f := range b.InFlight {
		n += f.People
	}
	return n
}

// Percent is the share of recipients settled (reached, refused or
// cancelled).
func (b broadcastJSON) Percent() int { return percent(b.Sent+b.Failed+b.Cancelled, b.Recipients) }

func (c *Console) getBroadcast(r *http.Request, id string) (broadcastJSON, apiAnswer) {
	ans := c.call(r.Context(), r, http.MethodGet, "/v1/broadcasts/"+url.PathEscape(id), nil)
	var b broadcastJSON
	if ans.ok() && ans.decode(&b) != nil {
		ans.status = http.StatusBadGateway
	}
	return b, ans
}

// broadcastView is a broadcast's page: its progress, and whether its
// messages are still shown ("is it gone now?").
type broadcastView struct {
	broadcastJSON
	Messages int          // its entries: one per send call
	States   []stateCount // how many of them are in each state
	Shown    int          // sent and not recalled: still in someone's chat
}

func (c *Console) broadcastPage(w http.ResponseWriter, r *http.Request, s *session) {
	b, ans := c.getBroadcast(r, r.PathValue("id"))
	if !ans.ok() {
		c.fail(w, r, s, ans.status, ans.message())
		return
	}
	v := broadcastView{broadcastJSON: b}
	if es, err := c.cfg.Ledger.Batch(r.Context(), b.BatchID); err == nil {
		n := map[ledger.State]int64{}
		for _, e := range es {
			n[e.State]++
			if e.State == ledger.Sent || e.State == ledger.Recalling || e.State == ledger.RecallFailed {
				v.Shown++
			}
		}
		v.Messages = len(es)
		for _, st := range ledger.States {
			if n[st] > 0 {
				v.States = append(v.States, stateCount{st, n[st]})
			}
		}
	}
	c.render(w, r, s, http.StatusOK, "broadcast", c.t("broadcast.title"), "broadcasts", v)
}

// broadcastEvents streams a broadcast's progress until it is no longer
// running.
func (c *Console) broadcastEvents(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	c.stream(w, r, func() (any, bool, string) {
		b, ans := c.getBroadcast(r, id)
		if !ans.ok() {
			return nil, true, ans.message()
		}
		b.Refused = nil // the page shows them when it reloads
		return map[string]any{"done": b.Sent + b.Failed + b.Cancelled, "requested": b.Recipients, "sent": b.Sent, "failed": b.Failed,
			"pending": b.Pending, "cancelled": b.Cancelled, "calls": b.SendCalls, "state": b.State}, b.State != "running", ""
	})
}

// cancelBroadcast cancels what a broadcast has not sent yet (the API's
// DELETE, as the operator).
func (c *Console) cancelBroadcast(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ans := c.call(r.Context(), r, http.MethodDelete, "/v1/broadcasts/"+url.PathEscape(id)+"?client="+url.QueryEscape(s.name), nil)
	if !ans.ok() {
		c.fail(w, r, s, ans.status, ans.message())
		return
	}
	http.Redirect(w, r, "/ui/broadcasts/"+url.PathEscape(id)+"?done=cancelled", http.StatusSeeOther)
}
