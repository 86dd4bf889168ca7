package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/recall"
)

// Recall is `recallbot recall`: it recalls messages by chat and count,
// time, keys, batch or content, or previews them (--dry-run). A batch is
// recalled in the background, with a progress line.
func Recall(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c := newCtl("recall", "recall (--last N --chat ID | --since 30m --chat ID | --keys K1,K2 | --batch ID | --matching TEXT --chat ID) [--dry-run]", stdout, stderr)
	defer c.explain(&err)
	chat := addChatFlags(c.fs, true)
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
	if lastSet(c.fs) && *last <= 0 {
		return usageError(c.fs, c.say("usage.last", *last))
	}
	to, _ := chat.target()
	req := api.RecallRequest{
		Family:         to.Family,
		ConversationID: to.ConversationID,
		UserID:         to.UserID,
		Last:           *last,
		Since:          *since,
		BatchID:        *batch,
		Matching:       *matching,
		DryRun:         *dry,
		ReadStatus:     *reads,
		Client:         *client,
	}
	for _, k := range append(strings.Split(*keys, ","), pos...) {
		if k = strings.TrimSpace(k); k != "" {
			req.Keys = append(req.Keys, k)
		}
	}
	if req.Last == 0 && req.Since == "" && len(req.Keys) == 0 && req.BatchID == "" && req.Matching == "" {
		return usageError(c.fs, c.say("usage.selector")) // the bot would refuse it in its words, naming its fields
	}
	if *batch != "" && !*dry { // a broadcast may be thousands of messages: in the background, with progress
		return c.recallInBackground(ctx, req, stdout, stderr)
	}
	r, err := c.bot.Recall(ctx, req)
	if err != nil {
		return err
	}
	if *c.asJSON {
		return c.printJSON(r)
	}
	c.printReceipt(stdout, r)
	return nil
}

// printReceipt prints a recall's receipt as a table of its messages, in
// the bot's language.
func (c *ctl) printReceipt(w io.Writer, r api.Receipt) {
	head := c.say("recall")
	if r.DryRun {
		head = c.say("preview")
	}
	fmt.Fprintln(w, c.say("recall.head", head, r.Summary, c.calls(r.Calls, "API"), r.AuditID))
	t := &table{indent: "  "}
	for _, it := range r.Items {
		what := recall.PlainText(it.Excerpt)
		if what == "" {
			what = it.ProcessQueryKey
		}
		when := ""
		if !it.SentAt.IsZero() {
			when = it.SentAt.Local().Format("01-02 15:04")
		}
		read := ""
		switch {
		case it.Reads != nil && it.Reads.Error != "":
			read = c.say("read.unknown")
		case it.Reads != nil && it.Reads.Recipients > 0:
			read = c.say("read.of", it.Reads.Read, it.Reads.Recipients)
		case it.Reads != nil:
			read = c.say("read.by", it.Reads.Read)
		}
		why := it.Explanation
		if left := time.Until(it.RecallableUntil); !it.RecallableUntil.IsZero() && left > 0 {
			why = c.say("left", recall.HumanDuration(left, c.locale()))
		}
		t.row(c.outcome(it.Outcome), when, what, read, why)
	}
	_ = t.write(w)
	if r.ReadStatusCost != nil && r.ReadStatusCost.Calls > 0 {
		took := time.Duration(max(1, r.ReadStatusCost.Seconds) * float64(time.Second)).Round(time.Second)
		hint := "reads.hint"
		if r.ReadStatusCost.Calls == 1 { // one query per message: one message, "it"
			hint = "reads.hint.one"
		}
		fmt.Fprintln(w, c.say(hint, c.calls(r.ReadStatusCost.Calls, "query"), recall.HumanDuration(took, c.locale())))
	}
}

// recallInBackground starts an asynchronous recall, follows it with a
// progress line and prints its receipt.
func (c *ctl) recallInBackground(ctx context.Context, req api.RecallRequest, stdout, stderr io.Writer) error {
	job, err := c.bot.StartRecall(ctx, req)
	if err != nil {
		return err
	}
	bar := newProgress(stderr)
	poll := func(ctx context.Context) error {
		j, err := c.bot.RecallStatus(ctx, job.ID)
		if err == nil {
			job = j
		}
		return err
	}
	err = follow(ctx, poll, func() bool { return job.State != api.JobRunning }, func() {
		bar.show(c.say("recalling"), job.Done, job.Requested, c.say("messages")+" · "+c.calls(job.Calls, "API"))
	})
	bar.end()
	if err != nil {
		return fmt.Errorf(c.say("err.follow"), err, url.PathEscape(job.ID))
	}
	if *c.asJSON {
		if err := poll(ctx); err != nil {
			return err
		}
		return c.printJSON(job)
	}
	if job.Receipt != nil {
		c.printReceipt(stdout, *job.Receipt)
	}
	if job.State != api.JobDone {
		return fmt.Errorf("recall %s %s: %s", job.ID, job.State, job.Error)
	}
	return nil
}
