package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Send is `recallbot send`: it sends a message through the bot, ledgered
// and recallable, and prints its entry and key.
func Send(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("send", "send (--group ID | --private ID | --user STAFF_ID) --text TEXT [--title T] [--expires-in 30s] [--batch ID] [--client NAME]", stdout, stderr)
	chat := addChatFlags(c.fs)
	text := c.fs.String("text", "", "the message; markdown when -title is given")
	title := c.fs.String("title", "", "a title: sends markdown")
	expires := c.fs.String("expires-in", "", "recall it by itself after this long (30s, 2h; under the 24 h window)")
	batch := c.fs.String("batch", "", "a batch id to group it with others")
	client := c.fs.String("client", "cli", "who is sending, for the ledger and the audit")
	if _, err := c.parse(args); err != nil {
		return err
	}
	body := map[string]any{"text": *text, "client": *client}
	if n := chat.body(body); n != 1 || *chat.chat != "" {
		return usageError(c.fs, "give exactly one of --group, --private or --user")
	}
	if *title != "" {
		body["title"] = *title
	}
	if *expires != "" {
		body["expires_in"] = *expires
	}
	if *batch != "" {
		body["batch_id"] = *batch
	}
	var e struct {
		ID            uint64 `json:"id"`
		Key           string `json:"process_query_key"`
		State         string `json:"state"`
		RecordDelayed bool   `json:"record_delayed"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/v1/messages", body, &e); err != nil || *c.asJSON {
		return err
	}
	fmt.Fprintf(stdout, "sent: entry %d, key %s\n", e.ID, e.Key)
	if e.RecordDelayed {
		fmt.Fprintln(stdout, "note: the ledger was unavailable; the key waits in the bot's spool until it is back")
	}
	return nil
}
