package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/recallbot/recallbot/api"
)

// Entries is `recallbot entries`: the entries that need attention,
// pending by default.
func Entries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("entries", "entries [pending|recalling|recall_failed]", stdout, stderr)
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	state := "pending"
	switch len(pos) {
	case 0:
	case 1:
		state = pos[0]
	default:
		return usageError(c.fs, "name one state: pending, recalling or recall_failed")
	}
	a, err := c.bot.Entries(ctx, api.State(state))
	if err != nil {
		return err
	}
	if *c.asJSON {
		return c.printJSON(a)
	}
	if len(a.Entries) == 0 {
		fmt.Fprintf(stdout, "no %s entries\n", state)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSENT\tCHAT\tBY\tMESSAGE\tREASON")
	for _, e := range a.Entries {
		chat := string(e.Chat.Family) + ":" + e.Chat.ConversationID + e.Chat.UserID
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.SentAt.Local().Format("01-02 15:04:05"), chat, e.Actor, e.Excerpt, e.Reason)
	}
	return tw.Flush()
}
