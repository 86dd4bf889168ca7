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
			result = c.refusedWords(result)
		} else if len(r.Outcomes) > 0 { // in the receipt's words, as the chat says them
			result = recall.CountsIn(recall.CountOutcomes(r.Outcomes), c.locale())
		}
		t.row(strconv.FormatUint(r.ID, 10), r.At.Local().Format("01-02 15:04:05"), recall.ActorWords(r.Actor, c.locale()), recall.ActionWords(r.Action, c.locale()), r.Scope, result)
	}
	return t.write(stdout)
}

// refusedWords is the result of a refused record: the one label, then its
// note after a colon ("已拒绝：令牌错误", "refused: wrong token"), never
// the label and the note side by side as if they were one doubled label.
func (c *ctl) refusedWords(note string) string {
	if note == "" {
		return c.say("refused")
	}
	if c.locale() == "en" {
		return c.say("refused") + ": " + note
	}
	return c.say("refused") + "：" + note
}
