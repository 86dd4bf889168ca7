package cli

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/recall"
)

// Audit is `recallbot audit`: the audit trail, newest first, or with
// --access the refused requests.
func Audit(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c := newCtl("audit", "audit [--limit N] [--access]", stdout, stderr)
	defer c.explain(&err)
	limit := c.fs.Int("limit", 20, "how many records, newest first")
	access := c.fs.Bool("access", false, "the access trail (refused HTTP requests) instead of recalls")
	if _, err := c.parse(args); err != nil {
		return err
	}
	q := api.AuditQuery{Limit: *limit}
	if *access {
		q.Trail = api.TrailAccess
	}
	a, err := c.bot.Audit(ctx, q)
	if err != nil {
		return err
	}
	if *c.asJSON {
		return c.printJSON(a)
	}
	t := &table{}
	t.row(strings.Split(c.say("audit.cols"), "|")...)
	for _, r := range a.Records {
		result := r.Note
		if !r.Allowed {
			result = strings.TrimSpace(c.say("refused") + " " + result)
		} else if len(r.Outcomes) > 0 { // in the receipt's words, as the chat says them
			result = recall.CountsIn(recall.CountOutcomes(r.Outcomes), c.locale())
		}
		t.row(strconv.FormatUint(r.ID, 10), r.At.Local().Format("01-02 15:04:05"), r.Actor, recall.ActionWords(r.Action, c.locale()), r.Scope, result)
	}
	return t.write(stdout)
}
