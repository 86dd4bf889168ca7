package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Resolve is `recallbot resolve`: it settles a pending entry as sent
// (with its key), send_failed or unknown.
func Resolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("resolve", "resolve ENTRY_ID --state sent|send_failed|unknown [--key KEY] [--note TEXT]", stdout, stderr)
	state := c.fs.String("state", "", "what became of the send: sent (with --key), send_failed or unknown")
	key := c.fs.String("key", "", "the processQueryKey, for --state sent")
	note := c.fs.String("note", "", "why, for the audit")
	client := c.fs.String("client", "cli", "who resolves, for the audit")
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(c.fs, "name one entry id")
	}
	body := map[string]any{"state": *state, "note": *note, "client": *client}
	if *key != "" {
		body["process_query_key"] = *key
	}
	var e struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/v1/entries/"+url.PathEscape(pos[0])+"/resolve", body, &e); err != nil || *c.asJSON {
		return err
	}
	fmt.Fprintln(stdout, c.say("resolved", e.ID, c.say("state."+e.State)))
	return nil
}
