package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// The message list reads at most listScan entries per page: a filter that
// matches rarely (one client's messages in a busy ledger) shows what it
// found so far and a link to search further back.
const (
	listPage  = 50
	listChunk = 200
	listScan  = 5000
)

// filter is the message list's query, as the form and the links carry it.
type filter struct {
	Chat, User, Batch, Client, State, Since, Until, Text string
	Before                                               uint64

	since, until time.Time
	chat         ledger.Chat // the chat Chat names, once found
}

func parseFilter(r *http.Request, now time.Time) (filter, error) {
	q := r.URL.Query()
	f := filter{Chat: strings.TrimSpace(q.Get("chat")), User: strings.TrimSpace(q.Get("user")), Batch: strings.TrimSpace(q.Get("batch")),
		Client: strings.TrimSpace(q.Get("client")), State: q.Get("state"), Since: strings.TrimSpace(q.Get("since")),
		Until: strings.TrimSpace(q.Get("until")), Text: strings.TrimSpace(q.Get("text"))}
	var errs []error
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("before: %q", v))
		}
		f.Before = n
	}
	if f.State != "" && !ledger.State(f.State).Valid() {
		errs = append(errs, fmt.Errorf("state: %q", f.State))
		f.State = ""
	}
	var err error
	if f.since, err = parseWhen(f.Since, now); err != nil {
		errs = append(errs, fmt.Errorf("since: %w", err))
	}
	if f.until, err = parseWhen(f.Until, now); err != nil {
		errs = append(errs, fmt.Errorf("until: %w", err))
	}
	return f, errors.Join(errs...)
}

// parseWhen reads a time: a duration back from now ("30m", "2h"), a
// datetime-local value or "2006-01-02 15:04" in the server's zone, or RFC
// 3339.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (30m, 2h) nor a time (2006-01-02 15:04)", s)
}

// query is the filter as a URL query, with before set to page on.
func (f filter) query(before uint64) string {
	v := url.Values{}
	for k, s := range map[string]string{"chat": f.Chat, "user": f.User, "batch": f.Batch, "client": f.Client, "state": f.State,
		"since": f.Since, "until": f.Until, "text": f.Text} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if before > 0 {
		v.Set("before", strconv.FormatUint(before, 10))
	}
	return v.Encode()
}

// Here is the chat the list is about, as the preview's confirmation rule
// sees it (a recall reaching beyond it needs a confirmation): the chat or
// user filtered on, or none.
func (f filter) Here() string {
	switch {
	case f.chat.Family != "":
		return f.chat.Key()
	case f.User != "":
		return ledger.Chat{Family: ledger.OTO, UserID: f.User}.Key()
	}
	return ""
}

// Any reports whether the list is filtered at all.
func (f filter) Any() bool {
	return f.Chat != "" || f.User != "" || f.Batch != "" || f.Client != "" || f.State != "" || f.Since != "" || f.Until != "" || f.Text != ""
}

// keep reports whether e passes the filters its source did not apply.
func (f filter) keep(e *ledger.Entry) bool {
	switch {
	case f.State != "" && string(e.State) != f.State:
		return false
	case f.Client != "" && e.Actor != f.Client && e.Actor != "api:"+f.Client:
		return false
	case !f.until.IsZero() && e.SentAt.After(f.until):
		return false
	case !f.since.IsZero() && e.SentAt.Before(f.since):
		return false
	case f.Text != "" && !strings.Contains(strings.ToLower(e.Excerpt), strings.ToLower(f.Text)):
		return false
	case f.chat.Family != "" && f.Batch != "" && !inChat(e, f.chat):
		return false
	case f.User != "" && (f.Batch != "" || f.chat.Family != "") && !inChat(e, ledger.Chat{Family: ledger.OTO, UserID: f.User}):
		return false
	}
	return true
}

// inChat reports whether e's message is in chat (a packed key is in each
// of its recipients' chats).
func inChat(e *ledger.Entry, chat ledger.Chat) bool {
	for _, c := range e.Chats() {
		if c.Key() == chat.Key() {
			return true
		}
	}
	return false
}

// listing is one page of the message list.
type listing struct {
	Rows []row
	// Next pages on (the "before" of the next page); 0 at the end.
	Next    uint64
	Scanned int
	// Cut says the scan stopped at listScan entries with the page not
	// full: there may be more further back.
	Cut bool
}

// row is one message in the list.
type row struct {
	ledger.Entry
	Left       string // time left in the recall window, or ""
	TooOld     bool
	Selectable bool
}

// list reads one page of the list: the newest entries passing f, below
// f.Before. Its source is the narrowest the filter allows: a batch, a
// chat, or every chat (Ledger.Recent).
func (c *Console) list(ctx context.Context, f *filter) (listing, error) {
	var out listing
	if f.Chat != "" {
		chat, err := c.findChat(ctx, f.Chat)
		if err != nil {
			return out, err
		}
		f.chat = chat
	}
	var batch []ledger.Entry
	if f.Batch != "" {
		var err error
		if batch, err = c.cfg.Ledger.Batch(ctx, f.Batch); err != nil {
			return out, err
		}
	}
	// next returns the entries below before, newest first; none at the end.
	next := func(before uint64) ([]ledger.Entry, error) {
		switch {
		case f.Batch != "":
			var es []ledger.Entry
			for i := len(batch) - 1; i >= 0 && len(es) < listChunk; i-- {
				if before == 0 || batch[i].ID < before {
					es = append(es, batch[i])
				}
			}
			return es, nil
		case f.chat.Family != "":
			return c.cfg.Ledger.List(ctx, ledger.Query{Chat: f.chat, Before: before, Limit: listChunk})
		case f.User != "":
			return c.cfg.Ledger.List(ctx, ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: f.User}, Before: before, Limit: listChunk})
		}
		return c.cfg.Ledger.Recent(ctx, before, listChunk)
	}
	now := c.now()
	before := f.Before
	for out.Scanned < listScan {
		es, err := next(before)
		if err != nil {
			return out, err
		}
		for i := range es {
			e := &es[i]
			out.Scanned++
			before = e.ID
			if f.Batch == "" && !f.since.IsZero() && e.SentAt.Before(f.since) {
				return out, nil // newest first: nothing older can match
			}
			if f.keep(e) {
				out.Rows = append(out.Rows, c.row(*e, now))
				if len(out.Rows) == listPage {
					out.Next = e.ID
					return out, nil
				}
			}
		}
		if len(es) < listChunk {
			return out, nil // the oldest was reached
		}
	}
	out.Next, out.Cut = before, true
	return out, nil
}

func (c *Console) row(e ledger.Entry, now time.Time) row {
	r := row{Entry: e, Selectable: e.ProcessQueryKey != ""}
	if e.State.Recallable() {
		if left := e.SentAt.Add(c.cfg.Window).Sub(now); left > 0 {
			r.Left = c.duration(left)
		} else {
			r.TooOld = true
		}
	}
	return r
}

// findChat finds the chat a conversation id (or a chat key such as
// "group:cid" or "oto:user") names, as the API does: the family the ledger
// has messages of.
func (c *Console) findChat(ctx context.Context, id string) (ledger.Chat, error) {
	if fam, rest, ok := strings.Cut(id, ":"); ok && ledger.Family(fam).Valid() {
		if ledger.Family(fam) == ledger.OTO {
			return ledger.Chat{Family: ledger.OTO, UserID: rest}, nil
		}
		return ledger.Chat{Family: ledger.Family(fam), ConversationID: rest}, nil
	}
	for _, fam := range []ledger.Family{ledger.Group, ledger.Private} {
		ch := ledger.Chat{Family: fam, ConversationID: id}
		es, err := c.cfg.Ledger.List(ctx, ledger.Query{Chat: ch, Limit: 1})
		if err != nil {
			return ledger.Chat{}, err
		}
		if len(es) > 0 {
			return ch, nil
		}
	}
	return ledger.Chat{Family: ledger.Group, ConversationID: id}, nil // no messages: an empty list says so
}

// messagesView is the message list page.
type messagesView struct {
	Filter  filter
	List    listing
	Older   string // the link to the next page, or ""
	States  []ledger.State
	Counts  []stateCount
	Total   int64
	Batch   string // a batch filtered on: its whole batch can be previewed
	Problem string
}

type stateCount struct {
	State ledger.State
	N     int64
}

func (c *Console) messages(w http.ResponseWriter, r *http.Request, s *session) {
	f, ferr := parseFilter(r, c.now())
	v := messagesView{Filter: f, States: ledger.States, Batch: f.Batch}
	if ferr != nil {
		v.Problem = ferr.Error()
	}
	list, err := c.list(r.Context(), &f)
	if err != nil {
		c.cfg.Log.Warn("console: listing messages", errField(err))
		c.fail(w, r, s, http.StatusServiceUnavailable, c.t("err.ledger"))
		return
	}
	v.Filter, v.List = f, list
	if list.Next > 0 {
		v.Older = "/ui/?" + f.query(list.Next)
	}
	if counts, err := c.cfg.Ledger.Counts(r.Context()); err == nil {
		v.Total = counts.Total()
		for _, st := range ledger.States {
			if n := counts[st]; n > 0 {
				v.Counts = append(v.Counts, stateCount{st, n})
			}
		}
	}
	c.render(w, r, s, http.StatusOK, "messages", c.t("nav.messages"), "messages", v)
}
