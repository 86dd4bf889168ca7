package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/recall"
)

// Resolve is `recallbot resolve`: it settles a pending entry as sent
// (with its key), send_failed or unknown.
func Resolve(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c := newCtl("resolve", "resolve ENTRY_ID --state sent|send_failed|unknown [--key KEY] [--note TEXT]", stdout, stderr)
	defer c.explain(&err)
	state := c.fs.String("state", "", "what became of the send: sent (with --key), send_failed or unknown")
	key := c.fs.String("key", "", "the processQueryKey, for --state sent")
	note := c.fs.String("note", "", "why, for the audit")
	client := c.fs.String("client", "cli", "who resolves, for the audit")
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(c.fs, c.say("usage.one_entry"))
	}
	id, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil || id == 0 {
		return usageError(c.fs, c.say("usage.entry_id", recall.Value(pos[0])))
	}
	if *state == string(api.StateSent) && *key == "" {
		return usageError(c.fs, c.say("usage.key"))
	}
	e, err := c.bot.Resolve(ctx, id, api.ResolveRequest{State: api.State(*state), ProcessQueryKey: *key, Note: *note, Client: *client})
	if err != nil {
		return err
	}
	if *c.asJSON {
		return c.printJSON(e)
	}
	fmt.Fprintln(stdout, c.say("resolved", e.ID, c.say("state."+string(e.State))))
	return nil
}
