package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
)

// maxJobsShown bounds the broadcasts listed, newest first.
const maxJobsShown = 100

// jobRow is a broadcast in the list.
type jobRow struct {
	ledger.Job
	Pending int
	// Recalled is how many of its messages were taken back, Shown how
	// many are still in someone's chat: a broadcast taken back whole is
	// marked recalled in the list, one taken back in part says how much.
	Recalled, Shown int
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
	for i := range rows {
		if rows[i].State != ledger.JobRunning {
			rows[i].Recalled, rows[i].Shown = c.batchRecalled(r, rows[i].ID)
		}
	}
	c.render(w, r, s, http.StatusOK, "broadcasts", c.t("nav.broadcasts"), "broadcasts", rows)
}

// percentOf is the share of a broadcast's recipients settled (reached,
// refused or cancelled).
func percentOf(b api.Broadcast) int { return percent(b.Sent+b.Failed+b.Cancelled, b.Recipients) }

// broadcastView is a broadcast's page: its progress, and whether its
// messages are still shown ("is it gone now?").
type broadcastView struct {
	api.Broadcast
	Messages int          // its entries: one per send call
	States   []stateCount // how many of them are in each state
	Shown    int          // sent and not recalled: still in someone's chat
}

// Percent is the share of recipients settled.
func (v broadcastView) Percent() int { return percentOf(v.Broadcast) }

func (c *Console) broadcastPage(w http.ResponseWriter, r *http.Request, s *session) {
	b, err := c.cfg.Operator.BroadcastStatus(r.Context(), r.PathValue("id"))
	if err != nil {
		c.failAction(w, r, s, err)
		return
	}
	v := broadcastView{Broadcast: b}
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
		b, err := c.cfg.Operator.BroadcastStatus(r.Context(), id)
		if err != nil {
			return nil, true, operator.AsError(err, c.cfg.Locale).Message
		}
		return broadcastProgress{Done: b.Sent + b.Failed + b.Cancelled, Requested: b.Recipients, Sent: b.Sent, Failed: b.Failed,
			Pending: b.Pending, Cancelled: b.Cancelled, Calls: b.SendCalls, State: b.State}, b.State != api.JobRunning, ""
	})
}

// broadcastProgress is a "progress" event of a broadcast's page (its
// script's, not the API's).
type broadcastProgress struct {
	Done      int    `json:"done"`
	Requested int    `json:"requested"`
	Sent      int    `json:"sent"`
	Failed    int    `json:"failed"`
	Pending   int    `json:"pending"`
	Cancelled int    `json:"cancelled"`
	Calls     int    `json:"calls"`
	State     string `json:"state"`
}

// cancelBroadcast cancels what a broadcast has not sent yet, as the
// operator (the API's DELETE /v1/broadcasts/{id}).
func (c *Console) cancelBroadcast(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if _, err := c.cfg.Operator.CancelBroadcast(r.Context(), s.name, id); err != nil {
		c.failAction(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/ui/broadcasts/"+url.PathEscape(id)+"?done=cancelled", http.StatusSeeOther)
}

// Counted is how many of its messages were counted as recalled or shown.
func (j jobRow) Counted() int { return j.Recalled + j.Shown }

// batchRecalled counts a broadcast's messages taken back and those still
// shown; a ledger that does not answer counts none (the list still shows).
func (c *Console) batchRecalled(r *http.Request, batch string) (recalled, shown int) {
	es, err := c.cfg.Ledger.Batch(r.Context(), batch)
	if err != nil {
		return 0, 0
	}
	for _, e := range es {
		switch e.State {
		case ledger.Recalled:
			recalled++
		case ledger.Sent, ledger.Recalling, ledger.RecallFailed:
			shown++
		}
	}
	return recalled, shown
}

// wholeBatch is the broadcast whose messages the selected keys are, all of
// them, or "": every message of one batch ticked on the messages page is
// previewed and recalled as that batch, so that the receipt names it.
// batches are the batch ids of the selected messages.
func wholeBatch(ctx context.Context, led Ledger, batches map[string]bool, keys []string) string {
	if len(batches) != 1 {
		return ""
	}
	var b string
	for b = range batches {
	}
	if b == "" {
		return ""
	}
	es, err := led.Batch(ctx, b)
	if err != nil {
		return ""
	}
	selected := map[string]bool{}
	for _, k := range keys {
		selected[k] = true
	}
	n := 0
	for _, e := range es {
		if e.ProcessQueryKey == "" {
			continue
		}
		if !selected[e.ProcessQueryKey] {
			return ""
		}
		n++
	}
	if n != len(selected) {
		return ""
	}
	return b
}
