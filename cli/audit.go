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
		action, result := recall.ActionWords(r.Action, c.locale()), r.Note
		if !r.Allowed {
			action = c.refusedAction(r.Action)
		} else if len(r.Outcomes) > 0 { // in the receipt's words, as the chat says them
			result = recall.CountsIn(recall.CountOutcomes(r.Outcomes), c.locale())
		}
		t.row(strconv.FormatUint(r.ID, 10), r.At.Local().Format("01-02 15:04:05"), recall.ActorWords(r.Actor, c.locale()), action, r.Scope, result)
	}
	return t.write(stdout)
}

// refusedAction is the action of a refused record as the console shows
// it: the one label, then what was refused after a colon ("已拒绝：超过命令
// 限额", "refused: console login"), or the label alone for a command
// refused as such ("denied"). The result column then says only why, so no
// label is said twice on one line.
func (c *ctl) refusedAction(action string) string {
	if action == "denied" {
		return c.say("refused")
	}
	if c.locale() == "en" {
		return c.say("refused") + ": " + recall.ActionWords(action, "en")
	}
	return c.say("refused") + "：" + recall.ActionWords(action, c.locale())
}
