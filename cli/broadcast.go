package cli

// Broadcasts (start, status, cancel): a broadcast is followed, like a
// recall of thousands of messages, by polling its status route and
// drawing a progress line on stderr (progress.go).

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

	"github.com/recallbot/recallbot/recall"
)

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
	fmt.Fprintf(w, "broadcast %s: %s; %s: %d sent, %d failed%s, %d pending; %s\n",
		s.BatchID, s.State, recall.Plural(s.Recipients, "recipient", "recipients"), s.Sent, s.Failed, cancelled, s.Pending, recall.Plural(s.Calls, "send call", "send calls"))
	if len(s.InFlight) > 0 {
		people := 0
		for _, f := range s.InFlight {
			people += f.People
		}
		fmt.Fprintf(w, "  %s for %s on the wire: counted when DingTalk answers\n", recall.Plural(len(s.InFlight), "call", "calls"), recall.Plural(people, "person", "people"))
	}
	t := &table{indent: "  "} // no line ends with a space, a reason left empty or not
	for i, r := range s.Refused {
		if i == 20 {
			t.row(fmt.Sprintf("… and %d more refused", len(s.Refused)-20))
			break
		}
		t.row("refused", r.Target, r.Reason)
	}
	_ = t.write(w)
}

// Broadcast is `recallbot broadcast`: it starts a broadcast, shows its
// status or cancels it; --wait follows it to its end.
func Broadcast(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "broadcast start (--users U1,U2 | --users-file FILE) --text TEXT [--title T] [--batch ID] [--expires-in D] [--wait]\n" +
		"       recallbot broadcast status BATCH_ID [--wait]\n       recallbot broadcast cancel BATCH_ID"
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: recallbot "+synopsis)
		return UsageError{"broadcast: say start, status or cancel"}
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
	return UsageError{fmt.Sprintf("broadcast: unknown verb %q (start, status or cancel)", verb)}
}

// broadcastStatus prints a broadcast's status, after following it to its
// end when wait is set.
func (c *ctl) broadcastStatus(ctx context.Context, id string, wait bool, stdout, stderr io.Writer) error {
	path := "/v1/broadcasts/" + url.PathEscape(id)
	if wait {
		var st broadcastStatus
		bar := newProgress(stderr)
		err := c.follow(ctx, path, &st, func() bool { return st.State != "running" }, func() {
			bar.show("sending", st.Sent+st.Failed, st.Recipients, "recipients · "+recall.Plural(st.Calls, "call", "calls"))
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
