package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/recall"
)

// Send is `recallbot send`: it sends a message through the bot, ledgered
// and recallable, and prints its entry and key.
func Send(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c := newCtl("send", "send (--group ID | --private ID | --user STAFF_ID) --text TEXT [--title T] [--expires-in 30s] [--batch ID] [--client NAME]", stdout, stderr)
	chat := addChatFlags(c.fs, false)
	text := c.fs.String("text", "", "the message; markdown when -title is given")
	title := c.fs.String("title", "", "a title: sends markdown")
	expires := c.fs.String("expires-in", "", "recall it by itself after this long (30s, 2h; under the 24 h window)")
	batch := c.fs.String("batch", "", "a batch id to group it with others")
	client := c.fs.String("client", "cli", "who is sending, for the ledger and the audit")
	defer c.explain(&err)
	if _, err := c.parse(args); err != nil {
		return err
	}
	to, n := chat.target()
	if n != 1 {
		return usageError(c.fs, c.say("usage.one_chat"))
	}
	if *text == "" {
		return usageError(c.fs, c.say("usage.text"))
	}
	if d, err := time.ParseDuration(*expires); *expires != "" && (err != nil || d <= 0) {
		return usageError(c.fs, c.say("usage.expires", recall.Value(*expires)))
	}
	s, err := c.bot.Send(ctx, api.SendRequest{
		Chat:      to,
		Content:   api.Content{Text: *text, Title: *title},
		BatchID:   *batch,
		ExpiresIn: *expires,
		Client:    *client,
	})
	if err != nil {
		return err
	}
	if *c.asJSON {
		return c.printJSON(s)
	}
	fmt.Fprintln(stdout, c.say("sent", s.ID, s.ProcessQueryKey))
	if s.RecordDelayed {
		fmt.Fprintln(stdout, c.say("spooled"))
	}
	return nil
}
