package cli

// Broadcasts (start, status, cancel): a broadcast is followed, like a
// recall of thousands of messages, by reading its status again and again
// and drawing a progress line on stderr (progress.go).

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/recallbot/recallbot/api"
)

// printBroadcast prints a broadcast's progress and whom DingTalk refused.
func printBroadcast(w io.Writer, s api.Broadcast) {
	cancelled := ""
	if s.Cancelled > 0 || s.State == "cancelled" {
		cancelled = fmt.Sprintf(", %d cancelled", s.Cancelled)
	}
	fmt.Fprintf(w, "broadcast %s: %s; %d recipients: %d sent, %d failed%s, %d pending; %d send call(s)\n",
		s.BatchID, s.State, s.Recipients, s.Sent, s.Failed, cancelled, s.Pending, s.SendCalls)
	if len(s.InFlight) > 0 {
		fmt.Fprintf(w, "  %d call(s) for %d people on the wire: counted when DingTalk answers\n", len(s.InFlight), s.InFlightPeople())
	}
	for i, r := range s.Refused {
		if i == 20 {
			fmt.Fprintf(w, "  … and %d more refused\n", len(s.Refused)-20)
			break
		}
		fmt.Fprintf(w, "  refused  %s  %s\n", r.Target, r.Reason)
	}
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
		st, err := c.bot.Broadcast(ctx, api.BroadcastRequest{
			UserIDs:   ids,
			Content:   api.Content{Text: *text, Title: *title},
			BatchID:   *batch,
			ExpiresIn: *expires,
			Client:    *client,
		})
		if err != nil {
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
			st, err := c.bot.CancelBroadcast(ctx, pos[0], "cli")
			if err != nil {
				return err
			}
			if *c.asJSON {
				return c.printJSON(st)
			}
			printBroadcast(stdout, st)
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
	if wait {
		var st api.Broadcast
		poll := func(ctx context.Context) error {
			s, err := c.bot.BroadcastStatus(ctx, id)
			if err == nil {
				st = s
			}
			return err
		}
		bar := newProgress(stderr)
		err := follow(ctx, poll, func() bool { return st.State != api.JobRunning }, func() {
			bar.show("sending", st.Sent+st.Failed, st.Recipients, fmt.Sprintf("recipients · %d call(s)", st.SendCalls))
		})
		bar.end()
		if err != nil {
			return err
		}
	}
	st, err := c.bot.BroadcastStatus(ctx, id)
	if err != nil {
		return err
	}
	if *c.asJSON {
		return c.printJSON(st)
	}
	printBroadcast(stdout, st)
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
