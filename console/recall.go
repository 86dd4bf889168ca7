package console

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
)

// A recall from the console goes as in chat: a preview first (the
// operator's dry run, audited as one), then the recall of exactly the
// previewed messages. What chat would need /confirm for (more than ConfirmAbove
// messages, or reaching beyond the chat the operator was looking at,
// packed keys included) needs a typed code here; the code and the
// previewed keys are a plan held for the operator's session, single use,
// valid ConfirmTTL (planTTL when no code is needed; plans.go). The recall
// itself is the operator's asynchronous one; its page follows it over
// server-sent events.

// previewView is the preview page.
type previewView struct {
	Plan    string // "" when nothing can be recalled
	Summary string
	Scope   string
	Calls   int
	Would   int
	// People is how many people the recallable messages reach in chats
	// with people (1:1, person-to-person, a broadcast's packed keys);
	// Groups is how many groups they are in. A group message reaches a
	// chat whose members the bot does not know, so it is counted as a
	// group, never as one person.
	People int
	Groups int
	Chats  int // chats they are in
	Packed int // messages packed for several people
	// Others is how many people beyond Here the packed messages reach
	// (all of their recipients when Here is "").
	Others    int
	Elsewhere int // messages in another chat than Here
	Here      string
	Confirm   bool
	Code      string
	Why       []string // why a confirmation is needed
	Valid     string   // how long the preview can be carried out
	Items     []previewItem
	Hidden    int // items past maxPreviewRows, counted but not listed
	Already   int // items recalled already
	// AllRecalled: every message asked about was recalled already, and
	// the page says so rather than "nothing here can be recalled".
	AllRecalled bool
	NoKey       []row // selected messages without a key: nothing to recall
	Read        readSummary
	Batch       string
}

type previewItem struct {
	api.Item
	Entry ledger.Entry // from the ledger: recipients, actor, batch
	Left  string
	Reads *api.Reads
}

// Packed reports whether the item's one key reached several people.
func (p previewItem) Packed() bool { return len(p.Entry.Recipients) > 1 }

func (c *Console) preview(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	batch := strings.TrimSpace(r.PostFormValue("batch"))
	here := r.PostFormValue("here")
	withRead := r.PostFormValue("read_status") != ""
	v := previewView{Here: here, Batch: batch}
	req := api.RecallRequest{DryRun: true, Client: s.name, ReadStatus: withRead}
	now := c.now()
	switch {
	case batch != "":
		req.BatchID = batch
	default:
		var keys []string
		batches := map[string]bool{} // of the selected messages
		for _, sid := range r.PostForm["id"] {
			id, err := strconv.ParseUint(sid, 10, 64)
			if err != nil || len(keys)+len(v.NoKey) >= 1000 {
				continue
			}
			e, err := c.cfg.Ledger.Get(ctx, id)
			if err != nil {
				continue // gone since the list was shown: nothing to recall
			}
			if e.ProcessQueryKey == "" {
				v.NoKey = append(v.NoKey, c.row(e, now))
				continue
			}
			keys = append(keys, e.ProcessQueryKey)
			batches[e.BatchID] = true
		}
		if len(keys) == 0 {
			if len(v.NoKey) == 0 {
				c.fail(w, r, s, http.StatusBadRequest, c.t("err.noselection"))
				return
			}
			c.render(w, r, s, http.StatusOK, "preview", c.t("preview.title"), "messages", v)
			return
		}
		req.Keys = keys
		if b := wholeBatch(ctx, c.cfg.Ledger, batches, keys); b != "" { // named, and recalled, as the batch
			req.Keys, req.BatchID, batch, v.Batch = nil, b, b, b
		}
	}
	rec, err := c.cfg.Operator.Recall(ctx, req)
	if err != nil {
		c.failAction(w, r, s, err)
		return
	}
	v.Summary, v.Scope, v.Calls = rec.Summary, rec.Scope, rec.Calls
	v.Read = readFromReceipt(rec, withRead)
	// The ledger says who else a packed key reached, and by whom it was sent.
	var keys []string
	for _, it := range rec.Items {
		if it.ProcessQueryKey != "" {
			keys = append(keys, it.ProcessQueryKey)
		}
	}
	byKey := map[string]ledger.Entry{}
	if found, _, err := c.cfg.Ledger.ByKeys(ctx, keys); err == nil {
		for _, e := range found {
			byKey[e.ProcessQueryKey] = e
		}
	}
	chats, groups := map[string]bool{}, map[string]bool{}
	for i, it := range rec.Items {
		pi := previewItem{Item: it, Entry: byKey[it.ProcessQueryKey]}
		if pi.Entry.ID == 0 {
			pi.Entry = ledger.Entry{ID: it.EntryID, Chat: ledger.Chat{Family: ledger.Family(it.Chat.Family), ConversationID: it.Chat.ConversationID,
				UserID: it.Chat.UserID}, Excerpt: it.Excerpt, SentAt: it.SentAt, ProcessQueryKey: it.ProcessQueryKey}
		}
		if i < len(v.Read.Items) {
			pi.Reads = v.Read.Items[i]
		}
		if it.Outcome == "already_recalled" {
			v.Already++
		}
		if it.Outcome == "would_recall" {
			v.Would++
			if pi.Entry.Chat.Family == ledger.Group && len(pi.Entry.Recipients) == 0 {
				groups[pi.Entry.Chat.Key()] = true
			} else {
				v.People += pi.Entry.Reach()
			}
			if left := pi.Entry.SentAt.Add(c.cfg.Window).Sub(now); left > 0 {
				pi.Left = c.duration(left)
			}
			for _, ch := range pi.Entry.Chats() {
				chats[ch.Key()] = true
			}
			if pi.Entry.Reach() > 1 {
				v.Packed++
				v.Others += pi.Entry.Reach()
				if here != "" && inChat(&pi.Entry, chatOf(here)) {
					v.Others--
				}
			}
			if here != "" && pi.Entry.Chat.Key() != here && !inChat(&pi.Entry, chatOf(here)) {
				v.Elsewhere++
			}
		}
		v.Items = append(v.Items, pi)
	}
	v.AllRecalled = v.Already > 0 && v.Already == len(v.Items)
	v.Chats, v.Groups = len(chats), len(groups)
	if len(v.Items) > maxPreviewRows { // the plan keeps every key; the page lists the first
		v.Hidden = len(v.Items) - maxPreviewRows
	}
	if v.Would == 0 {
		v.Items = v.Items[:min(len(v.Items), maxPreviewRows)]
		c.render(w, r, s, http.StatusOK, "preview", c.t("preview.title"), "messages", v)
		return
	}
	// The chat's rule: more than ConfirmAbove messages, or any reaching
	// beyond the chat asked about (a packed key always does).
	if v.Would > c.cfg.ConfirmAbove {
		v.Why = append(v.Why, c.tf("confirm.many", v.Would, c.cfg.ConfirmAbove))
	}
	switch {
	case here != "" && v.Elsewhere > 0:
		v.Why = append(v.Why, c.tf("confirm.elsewhere", v.Elsewhere, here))
	case here == "" && v.Chats > 1 && v.Packed == 0:
		v.Why = append(v.Why, c.tf("confirm.chats", v.Chats))
	}
	switch {
	case v.Packed > 0 && here != "":
		v.Why = append(v.Why, c.tf("confirm.packed.here", v.Packed, v.Others))
	case v.Packed > 0:
		v.Why = append(v.Why, c.tf("confirm.packed", v.Packed, v.Others))
	}
	p := &plan{id: randomHex(16), session: s.id, expires: now.Add(planTTL), reads: withRead, batch: batch}
	for _, it := range v.Items {
		if it.Outcome == "would_recall" {
			p.keys = append(p.keys, it.ProcessQueryKey)
		}
	}
	if len(v.Why) > 0 {
		p.confirm, p.code, p.expires = true, newCode(), now.Add(c.cfg.ConfirmTTL)
		v.Confirm, v.Code = true, p.code
	}
	v.Plan, v.Valid = p.id, c.duration(p.expires.Sub(now))
	v.Items = v.Items[:min(len(v.Items), maxPreviewRows)]
	p.view = v
	c.plans.put(p, now)
	c.render(w, r, s, http.StatusOK, "preview", c.t("preview.title"), "messages", v)
}

// chatOf reads a chat key ("group:cid", "oto:user").
func chatOf(key string) ledger.Chat {
	fam, id, _ := strings.Cut(key, ":")
	if ledger.Family(fam) == ledger.OTO {
		return ledger.Chat{Family: ledger.OTO, UserID: id}
	}
	return ledger.Chat{Family: ledger.Family(fam), ConversationID: id}
}

// recall carries out a plan: an asynchronous recall of exactly the
// previewed keys, as the operator; then the recall's page. A batch
// previewed whole is recalled as the batch, so that a broadcast still
// sending is stopped first and what it sent since the preview goes too.
func (c *Console) recall(w http.ResponseWriter, r *http.Request, s *session) {
	typed := strings.ToUpper(strings.TrimSpace(r.PostFormValue("confirm")))
	p, ok := c.plans.use(r.PostFormValue("plan"), s.id, c.now(), func(p *plan) bool {
		return !p.confirm || subtle.ConstantTimeCompare([]byte(typed), []byte(p.code)) == 1
	})
	switch {
	case p == nil:
		c.fail(w, r, s, http.StatusGone, c.t("err.plan"))
		return
	case !ok:
		v := p.view
		msg := c.t("err.code")
		if p.tries >= maxTries {
			v.Plan, msg = "", c.t("err.code.dropped")
		}
		c.renderError(w, r, s, http.StatusConflict, "preview", c.t("preview.title"), "messages", v, msg)
		return
	}
	req := api.RecallRequest{Keys: p.keys, Client: s.name, ReadStatus: p.reads}
	if p.batch != "" {
		req.Keys, req.BatchID = nil, p.batch
	}
	job, err := c.cfg.Operator.StartRecall(r.Context(), req)
	if err != nil {
		c.failAction(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/ui/recalls/"+url.PathEscape(job.ID), http.StatusSeeOther)
}

// recallView is an asynchronous recall's page: its progress, and its
// receipt once it ended.
type recallView struct {
	api.RecallJob
	Receipt *receiptView
}

// receiptView is a receipt on a page.
type receiptView struct {
	*api.Receipt
	HasReads bool // the recall asked who had read them
}

// Percent is how far the recall is.
func (v recallView) Percent() int { return percent(v.Done, v.Requested) }

func newRecallView(j api.RecallJob) recallView {
	v := recallView{RecallJob: j}
	if j.Receipt != nil {
		v.Receipt = &receiptView{Receipt: j.Receipt}
		for _, it := range j.Receipt.Items {
			v.Receipt.HasReads = v.Receipt.HasReads || it.Reads != nil
		}
	}
	return v
}

func percent(n, of int) int {
	if of <= 0 {
		return 100
	}
	return min(100, n*100/of)
}

func (c *Console) recallPage(w http.ResponseWriter, r *http.Request, s *session) {
	job, err := c.cfg.Operator.RecallStatus(r.Context(), r.PathValue("id"))
	if err != nil {
		c.failAction(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "recall", c.t("recall.title"), "messages", newRecallView(job))
}

// recallEvents streams a recall's progress: "progress" events while it
// runs, then "end".
func (c *Console) recallEvents(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	c.stream(w, r, func() (any, bool, string) {
		job, err := c.cfg.Operator.RecallStatus(r.Context(), id)
		if err != nil {
			return nil, true, operator.AsError(err, c.cfg.Locale).Message
		}
		job.Receipt = nil // the page shows it when it reloads
		return job, job.State != api.JobRunning, ""
	})
}

// readSummary is what a preview says of read status: the counts when it
// asked (one query call per message), or what asking would cost.
type readSummary struct {
	Asked bool
	Calls int     // the query calls it took, or would take
	Secs  float64 // at DingTalk's pace, when not asked
	Items []*api.Reads
}

// readFromReceipt reads what a dry run says of read status: the reads on
// each item when asked, else what asking would cost.
func readFromReceipt(rec api.Receipt, asked bool) readSummary {
	out := readSummary{Asked: asked}
	if cost := rec.ReadStatusCost; cost != nil {
		out.Calls, out.Secs = cost.Calls, cost.Seconds
	}
	for _, it := range rec.Items {
		out.Items = append(out.Items, it.Reads)
		if asked && it.Reads != nil {
			out.Calls++
		}
	}
	return out
}
