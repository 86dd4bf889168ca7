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
	"slices"
	"strings"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/recall"
)

// printBroadcast prints a broadcast's progress and whom DingTalk refused,
// in the bot's language; its counts in the console's words
// (recall.BroadcastCounts).
func (c *ctl) printBroadcast(w io.Writer, s api.Broadcast) {
	counts := recall.BroadcastCounts(c.locale(), s.Sent, s.Recipients, s.Failed, s.Pending, s.Cancelled, s.State == "cancelled")
	if !c.en() {
		fmt.Fprintf(w, "群发 %s：%s；%s；%s\n", s.BatchID, c.say("job."+string(s.State)), counts, c.calls(s.SendCalls, "send"))
		if len(s.InFlight) > 0 {
			fmt.Fprintf(w, "  %d 次调用（%d 人）正在途中：钉钉答复后计入\n", len(s.InFlight), s.InFlightPeople())
		}
	} else {
		fmt.Fprintf(w, "broadcast %s: %s; %s; %s\n", s.BatchID, s.State, counts, recall.Plural(s.SendCalls, "send call", "send calls"))
		if len(s.InFlight) > 0 {
			fmt.Fprintf(w, "  %s for %s on the wire: counted when DingTalk answers\n", recall.Plural(len(s.InFlight), "call", "calls"), recall.Plural(s.InFlightPeople(), "person", "people"))
		}
	}
	t := &table{indent: "  "} // no line ends with a space, a reason left empty or not
	for i, r := range s.Refused {
		if i == 20 {
			t.row(c.say("refused.more", len(s.Refused)-20))
			break
		}
		t.row(c.say("refused"), r.Target, recall.ReasonWords(r.Reason, c.locale()))
	}
	_ = t.write(w)
}

// BroadcastVerbs are what `recallbot broadcast` does.
var BroadcastVerbs = []string{"start", "status", "cancel"}

const broadcastSynopsis = "broadcast start (--users U1,U2 | --users-file FILE) --text TEXT [--title T] [--batch ID] [--expires-in D] [--wait]\n" +
	"       recallbot broadcast status BATCH_ID [--wait]\n       recallbot broadcast cancel BATCH_ID"

// broadcastFlags are the flags of one verb of `recallbot broadcast`.
type broadcastFlags struct {
	wait                                             *bool
	users, file, text, title, batch, expires, client *string
}

// newBroadcastCtl is the command for verb with its flags: start's
// message and recipients, status's --wait, and what every verb shares.
func newBroadcastCtl(verb string, stdout, stderr io.Writer) (*ctl, broadcastFlags) {
	c := newCtl("broadcast "+verb, broadcastSynopsis, stdout, stderr)
	var f broadcastFlags
	if verb == "cancel" {
		return c, f
	}
	f.wait = c.fs.Bool("wait", false, "follow it with a progress line until it ends")
	if verb != "start" {
		return c, f
	}
	f.users = c.fs.String("users", "", "staffIds, comma-separated: their 1:1 chats with the bot, 20 to a call")
	f.file = c.fs.String("users-file", "", "a file of staffIds, one per line (- for stdin)")
	f.text = c.fs.String("text", "", "the message; markdown when -title is given")
	f.title = c.fs.String("title", "", "a title: sends markdown")
	f.batch = c.fs.String("batch", "", "the batch id (default: the bot makes one)")
	f.expires = c.fs.String("expires-in", "", "recall each message by itself after this long")
	f.client = c.fs.String("client", "cli", "who is sending, for the ledger and the audit")
	return c, f
}

// broadcastHelp prints the synopsis and the flags of every verb.
func broadcastHelp(stdout, stderr io.Writer) {
	fmt.Fprintf(stderr, "Usage: recallbot %s\n", broadcastSynopsis)
	for _, verb := range BroadcastVerbs {
		c, _ := newBroadcastCtl(verb, stdout, stderr)
		fmt.Fprintf(stderr, "\nbroadcast %s:\n", verb)
		c.fs.PrintDefaults()
	}
}

// Broadcast is `recallbot broadcast`: it starts a broadcast, shows its
// status or cancels it; --wait follows it to its end.
func Broadcast(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if len(args) == 0 {
		return usageLine(stderr, "broadcast: say start, status or cancel", "recallbot broadcast -h")
	}
	verb, args := args[0], args[1:]
	if verb == "-h" || verb == "-help" || verb == "--help" {
		broadcastHelp(stdout, stderr)
		return flag.ErrHelp
	}
	if !slices.Contains(BroadcastVerbs, verb) {
		return usageLine(stderr, fmt.Sprintf("broadcast: unknown verb %q (start, status or cancel)", verb), "recallbot broadcast -h")
	}
	c, f := newBroadcastCtl(verb, stdout, stderr)
	defer c.explain(&err)
	switch verb {
	case "start":
		if _, err := c.parse(args); err != nil {
			return err
		}
		ids, err := readUsers(*f.users, *f.file)
		if err != nil {
			return err
		}
		if len(ids) == 0 || *f.text == "" {
			return usageError(c.fs, c.say("usage.broadcast"))
		}
		st, err := c.bot.Broadcast(ctx, api.BroadcastRequest{
			UserIDs:   ids,
			Content:   api.Content{Text: *f.text, Title: *f.title},
			BatchID:   *f.batch,
			ExpiresIn: *f.expires,
			Client:    *f.client,
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, c.say("broadcast.started", st.BatchID, c.people(st.Recipients)))
		return c.broadcastStatus(ctx, st.BatchID, *f.wait, stdout, stderr)
	case "status", "cancel":
		pos, err := c.parse(args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError(c.fs, c.say("usage.one_batch"))
		}
		if verb == "cancel" {
			st, err := c.bot.CancelBroadcast(ctx, pos[0], "cli")
			if err != nil {
				return err
			}
			if *c.asJSON {
				return c.printJSON(st)
			}
			c.printBroadcast(stdout, st)
			return nil
		}
		return c.broadcastStatus(ctx, pos[0], *f.wait, stdout, stderr)
	}
	return nil
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
			bar.show(c.say("sending"), st.Sent+st.Failed, st.Recipients, c.say("recipients")+" · "+c.calls(st.SendCalls, "send"))
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
	c.printBroadcast(stdout, st)
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
