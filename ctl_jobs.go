package main

// The operator's commands for long work: broadcasts (start, status,
// cancel) and the progress of a recall of thousands of messages. Both
// follow a job the bot runs in the background, by polling its status
// route, and draw a progress line on stderr.

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// pollEvery is how often a followed job's status is read.
const pollEvery = 250 * time.Millisecond

// progress draws a job's progress on w: one line redrawn in place on a
// terminal, otherwise a new line each time the figures change (so that a
// log of the command reads well).
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// show draws done of total with a note ("3 calls").
func (p *progress) show(what string, done, total int, note string) {
	const width = 30
	filled := 0
	if total > 0 {
		filled = min(width, done*width/total)
	}
	line := fmt.Sprintf("%s [%s%s] %d/%d %s", what, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, note)
	if line == p.last {
		return
	}
	p.last = line
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\033[K", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// end finishes the line on a terminal.
func (p *progress) end() {
	if p.tty && p.last != "" {
		fmt.Fprintln(p.w)
	}
}

// follow polls path until stop says the job ended, drawing each answer.
func (c *ctl) follow(ctx context.Context, path string, out any, stop func() bool, draw func()) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if _, err := c.callQuiet(ctx, http.MethodGet, path, nil, out); err != nil {
			return err
		}
		draw()
		if stop() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following (the job goes on in the bot): %w", ctx.Err())
		case <-t.C:
		}
	}
}

// callQuiet is call without -json's printing: a followed job prints once,
// at its end.
func (c *ctl) callQuiet(ctx context.Context, method, path string, body, out any) (int, error) {
	asJSON := *c.asJSON
	*c.asJSON = false
	defer func() { *c.asJSON = asJSON }()
	return c.call(ctx, method, path, body, out)
}

// broadcastStatus is GET /v1/broadcasts/{id}'s answer.
type broadcastStatus struct {
	BatchID    string `json:"batch_id"`
	State      string `json:"state"`
	Recipients int    `json:"recipients"`
	Sent       int    `json:"sent"`
	Failed     int    `json:"failed"`
	Pending    int    `json:"pending"`
	Cancelled  int    `json:"cancelled"`
	Calls      int    `json:"send_calls"`
	Retrying   int    `json:"retrying"`
	InFlight   []struct {
		People int `json:"people"`
	} `json:"in_flight"`
	Refused []struct {
		Target string `json:"target"`
		Reason string `json:"reason"`
	} `json:"refused"`
}

func (s broadcastStatus) print(w io.Writer) {
	cancelled := ""
	if s.Cancelled > 0 || s.State == "cancelled" {
		cancelled = fmt.Sprintf(", %d cancelled", s.Cancelled)
	}
	fmt.Fprintf(w, "broadcast %s: %s; %d recipients: %d sent, %d failed%s, %d pending; %d send call(s)\n",
		s.BatchID, s.State, s.Recipients, s.Sent, s.Failed, cancelled, s.Pending, s.Calls)
	if len(s.InFlight) > 0 {
		people := 0
		for _, f := range s.InFlight {
			people += f.People
		}
		fmt.Fprintf(w, "  %d call(s) for %d people on the wire: counted when DingTalk answers\n", len(s.InFlight), people)
	}
	for i, r := range s.Refused {
		if i == 20 {
			fmt.Fprintf(w, "  … and %d more refused\n", len(s.Refused)-20)
			break
		}
		fmt.Fprintf(w, "  refused  %s  %s\n", r.Target, r.Reason)
	}
}

func runBroadcast(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "broadcast start (--users U1,U2 | --users-file FILE) --text TEXT [--title T] [--batch ID] [--expires-in D] [--wait]\n" +
		"       recallbot broadcast status BATCH_ID [--wait]\n       recallbot broadcast cancel BATCH_ID"
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: recallbot "+synopsis)
		return usageErr{"broadcast: say start, status or cancel"}
	}
	verb, args := args[0], args[1:]
	if verb == "-h" || verb == "-help" || verb == "--help" {
		fmt.Fprintln(stderr, "Usage: recallbot "+synopsis)
		return flag.ErrHelp
	}
	c := newCtl("broadcast "+verb, synopsis, stdout, stderr)
	wait := c.fs.Bool("wait", false, "follow it with a progress line until it ends")
	switch verb {
	case "start":
		users := c.fs.String("users", "", "staffIds, comma-separated: their 1:1 chats with the bot, 20 to a call")
		file := c.fs.String("users-file", "", "a file of staffIds, one per line (- for stdin)")
		text := c.fs.String("text", "", "the message; markdown when -title is given")
		title := c.fs.String("title", "", "a title: sends markdown")
		batch := c.fs.String("batch", "", "the batch id (default: the bot makes one)")
		expires := c.fs.String("expires-in", "", "recall each message by itself after this long")
		client := c.fs.String("client", "cli", "who is sending, for the ledger and the audit")
		if _, err := c.parse(args); err != nil {
			return err
		}
		ids, err := readUsers(*users, *file)
		if err != nil {
			return err
		}
		if len(ids) == 0 || *text == "" {
			return usageError(c.fs, "give --text and the users (--users or --users-file)")
		}
		body := map[string]any{"user_ids": ids, "text": *text, "client": *client}
		for k, v := range map[string]string{"title": *title, "batch_id": *batch, "expires_in": *expires} {
			if v != "" {
				body[k] = v
			}
		}
		var st broadcastStatus
		if _, err := c.callQuiet(ctx, http.MethodPost, "/v1/broadcasts", body, &st); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "broadcast %s started: %d recipients\n", st.BatchID, st.Recipients)
		return c.broadcastStatus(ctx, st.BatchID, *wait, stdout, stderr)
	case "status", "cancel":
		pos, err := c.parse(args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError(c.fs, "name one batch id")
		}
		if verb == "cancel" {
			var st broadcastStatus
			if _, err := c.call(ctx, http.MethodDelete, "/v1/broadcasts/"+url.PathEscape(pos[0])+"?client=cli", nil, &st); err != nil || *c.asJSON {
				return err
			}
			st.print(stdout)
			return nil
		}
		return c.broadcastStatus(ctx, pos[0], *wait, stdout, stderr)
	}
	fmt.Fprintln(stderr, "usage: recallbot "+synopsis)
	return usageErr{fmt.Sprintf("broadcast: unknown verb %q (start, status or cancel)", verb)}
}

// broadcastStatus prints a broadcast's status, after following it to its
// end when wait is set.
func (c *ctl) broadcastStatus(ctx context.Context, id string, wait bool, stdout, stderr io.Writer) error {
	path := "/v1/broadcasts/" + url.PathEscape(id)
	if wait {
		var st broadcastStatus
		bar := newProgress(stderr)
		err := c.follow(ctx, path, &st, func() bool { return st.State != "running" }, func() {
			bar.show("sending", st.Sent+st.Failed, st.Recipients, fmt.Sprintf("recipients · %d call(s)", st.Calls))
		})
		bar.end()
		if err != nil {
			return err
		}
	}
	var st broadcastStatus
	if _, err := c.call(ctx, http.MethodGet, path, nil, &st); err != nil || *c.asJSON {
		return err
	}
	st.print(stdout)
	return nil
}

// readUsers reads staffIds from a comma-separated list and a file.
func readUsers(list, file string) ([]string, error) {
	var ids []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u != "" {
			ids = append(ids, u)
		}
	}
	if file == "" {
		return ids, nil
	}
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if u := strings.TrimSpace(sc.Text()); u != "" && !strings.HasPrefix(u, "#") {
			ids = append(ids, u)
		}
	}
	return ids, sc.Err()
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
		bar.show("recalling", job.Done, job.Requested, fmt.Sprintf("messages · %d call(s)", job.Calls))
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
		job.Receipt.print(stdout)
	}
	if job.State != "done" {
		return fmt.Errorf("recall %s %s: %s", job.ID, job.State, job.Error)
	}
	return nil
}
