package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/recallbot/recallbot/recall"
)

// Recall is `recallbot recall`: it recalls messages by chat and count,
// time, keys, batch or content, or previews them (--dry-run). A batch is
// recalled in the background, with a progress line.
func Recall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("recall", "recall (--last N --chat ID | --since 30m --chat ID | --keys K1,K2 | --batch ID | --matching TEXT --chat ID) [--dry-run]", stdout, stderr)
	chat := addChatFlags(c.fs)
	last := c.fs.Int("last", 0, "the last N messages of the chat")
	since := c.fs.String("since", "", "what was sent in the chat since then: a duration (30m) or an RFC 3339 time")
	keys := c.fs.String("keys", "", "processQueryKeys, comma-separated (or as arguments)")
	batch := c.fs.String("batch", "", "every message of one broadcast")
	matching := c.fs.String("matching", "", "only messages whose text contains this (the first 80 characters, ignoring case)")
	dry := c.fs.Bool("dry-run", false, "show what would be recalled; recall nothing")
	reads := c.fs.Bool("read-status", false, "first ask DingTalk who has read each message (one query call per message)")
	client := c.fs.String("client", "cli", "who is recalling, for the audit")
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	body := map[string]any{"client": *client}
	chat.body(body)
	var ks []string
	for _, k := range append(strings.Split(*keys, ","), pos...) {
		if k = strings.TrimSpace(k); k != "" {
			ks = append(ks, k)
		}
	}
	if *last != 0 {
		body["last"] = *last
	}
	if *since != "" {
		body["since"] = *since
	}
	if len(ks) > 0 {
		body["keys"] = ks
	}
	if *batch != "" {
		body["batch_id"] = *batch
	}
	if *matching != "" {
		body["matching"] = *matching
	}
	if *dry {
		body["dry_run"] = true
	}
	if *reads {
		body["read_status"] = true
	}
	if *batch != "" && !*dry { // a broadcast may be thousands of messages: in the background, with progress
		return c.recallInBackground(ctx, body, stdout, stderr)
	}
	var r receiptAnswer
	if _, err := c.call(ctx, http.MethodPost, "/v1/recalls", body, &r); err != nil || *c.asJSON {
		return err
	}
	r.print(stdout, c)
	return nil
}

// receiptAnswer is POST /v1/recalls' answer.
type receiptAnswer struct {
	Summary string `json:"summary"`
	DryRun  bool   `json:"dry_run"`
	Calls   int    `json:"calls"`
	AuditID uint64 `json:"audit_id"`
	Items   []struct {
		Outcome     string    `json:"outcome"`
		Key         string    `json:"process_query_key"`
		Excerpt     string    `json:"excerpt"`
		SentAt      time.Time `json:"sent_at"`
		Explanation string    `json:"explanation"`
		Reads       *struct {
			Read       int    `json:"read"`
			Recipients int    `json:"recipients"`
			Err        string `json:"error"`
		} `json:"reads"`
	} `json:"items"`
	ReadCost *struct {
		Calls   int     `json:"calls"`
		Seconds float64 `json:"seconds"`
	} `json:"read_status_cost"`
}

func (r receiptAnswer) print(w io.Writer, c *ctl) {
	head := c.say("recall")
	if r.DryRun {
		head = c.say("preview")
	}
	fmt.Fprintln(w, c.say("recall.head", head, r.Summary, c.calls(r.Calls, "API"), r.AuditID))
	t := &table{indent: "  "}
	for _, it := range r.Items {
		what := recall.PlainText(it.Excerpt)
		if what == "" {
			what = it.Key
		}
		when := ""
		if !it.SentAt.IsZero() {
			when = it.SentAt.Local().Format("01-02 15:04")
		}
		read := ""
		switch {
		case it.Reads != nil && it.Reads.Err != "":
			read = c.say("read.unknown")
		case it.Reads != nil && it.Reads.Recipients > 0:
			read = c.say("read.of", it.Reads.Read, it.Reads.Recipients)
		case it.Reads != nil:
			read = c.say("read.by", it.Reads.Read)
		}
		t.row(c.outcome(it.Outcome), when, what, read, it.Explanation)
	}
	_ = t.write(w)
	if r.ReadCost != nil && r.ReadCost.Calls > 0 {
		fmt.Fprintln(w, c.say("reads.hint", c.calls(r.ReadCost.Calls, "query"), max(1, r.ReadCost.Seconds)))
	}
}

// recallJobAnswer is GET /v1/recalls/{id}'s answer.
type recallJobAnswer struct {
	ID        string         `json:"recall_id"`
	State     string         `json:"state"`
	Requested int            `json:"requested"`
	Done      int            `json:"done"`
	Calls     int            `json:"recall_calls"`
	Error     string         `json:"error"`
	Receipt   *receiptAnswer `json:"receipt"`
}

// recallInBackground starts an asynchronous recall, follows it with a
// progress line and prints its receipt.
func (c *ctl) recallInBackground(ctx context.Context, body map[string]any, stdout, stderr io.Writer) error {
	body["async"] = true
	var job recallJobAnswer
	if _, err := c.callQuiet(ctx, http.MethodPost, "/v1/recalls", body, &job); err != nil {
		return err
	}
	bar := newProgress(stderr)
	path := "/v1/recalls/" + url.PathEscape(job.ID)
	err := c.follow(ctx, path, &job, func() bool { return job.State != "running" }, func() {
		bar.show(c.say("recalling"), job.Done, job.Requested, c.say("messages")+" · "+c.calls(job.Calls, "API"))
	})
	bar.end()
	if err != nil {
		return fmt.Errorf("%w; follow it with GET %s", err, path)
	}
	if *c.asJSON {
		_, err := c.call(ctx, http.MethodGet, path, nil, nil)
		return err
	}
	if job.Receipt != nil {
		job.Receipt.print(stdout, c)
	}
	if job.State != "done" {
		return fmt.Errorf("recall %s %s: %s", job.ID, job.State, job.Error)
	}
	return nil
}
