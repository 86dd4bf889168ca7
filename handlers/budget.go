package handlers

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/internal/budget"
	"github.com/recallbot/recallbot/internal/refusals"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Interactive work must never wait behind noise. A person who is not an
// admin and types faster than anyone reads (a script, a stuck key) would
// otherwise have every command run: a msgId record, a refusal audited, a
// reply sent and ledgered, each reply a slot of DingTalk's 20 calls a
// second, while an admin's recall waits its turn behind them. So:
//
//   - each sender who is not an admin has a command budget, a token bucket
//     in this process's memory (CommandBurst at once, then one more every
//     CommandEvery), checked before anything is written;
//   - a command beyond it is dropped: not recorded, not run, not answered.
//     Per minute the first one of each of a few senders is audited in the
//     access trail and gets one "slow down" reply; the rest are counted
//     into one summary record per minute (refusals.Counter, as the HTTP
//     API's refused requests are);
//   - admins have no budget, their commands go ahead of everyone else's on
//     the Stream workers (Urgent), and the DingTalk calls a non-admin's
//     command makes (its replies) are Bulk, so they never take a pace slot
//     ahead of an admin's.
const (
	defaultCommandBurst = 3
	defaultCommandEvery = 3 * time.Second
	defaultCrowdBurst   = 20
	defaultCrowdEvery   = time.Second
	// maxBudgetSenders bounds the senders whose buckets are held; past it
	// the least recently seen is forgotten (and starts full again).
	maxBudgetSenders = 10_000
)

// Urgent reports whether m goes ahead of every other command waiting to
// run: an admin's does. The Stream listener asks it for each message.
func (b *Bot) Urgent(m Message) bool { return b.isAdmin(m.SenderStaffID) }

// newBudget is the command budget cfg asks for, or nil when it is off.
func newBudget(cfg Config) *budget.Keyed {
	if cfg.CommandBurst < 0 {
		return nil
	}
	return budget.NewKeyed(budget.Rate{Burst: cfg.CommandBurst, Every: cfg.CommandEvery}, maxBudgetSenders)
}

// newCrowd is the budget all non-admins share, or nil when the budget is
// off.
func newCrowd(cfg Config) *budget.Bucket {
	if cfg.CommandBurst < 0 {
		return nil
	}
	return budget.NewBucket(budget.Rate{Burst: cfg.CrowdBurst, Every: cfg.CrowdEvery})
}

// withinBudget takes a token from the sender's command budget, then one
// from the crowd's (everyone who is not an admin), and reports
// whether the command may go on. A command over the budget writes nothing
// of its own; only the first of its sender this minute is audited and
// answered (slow down).
func (b *Bot) withinBudget(ctx context.Context, req *request) bool {
	m := req.msg
	if b.budget == nil || b.isAdmin(m.SenderStaffID) {
		return true
	}
	now := b.cfg.Now()
	crowded := false
	if ok, _ := b.budget.Take(m.SenderStaffID, now); ok {
		if ok, _ := b.crowd.Take(now); ok {
			return true
		}
		b.budget.Refund(m.SenderStaffID, now) // the crowd's limit, not theirs
		crowded = true
	}
	b.metrics.Command("none", "over_budget", 0)
	full, summary := b.over.Note(now, m.SenderStaffID)
	if summary != nil {
		b.writeAccess(ctx, overBudgetSummary(summary))
	}
	if !full {
		return false
	}
	loc := b.cfg.Locale
	every := recall.HumanDuration(b.cfg.CommandEvery, "en")
	why := fmt.Sprintf("over the command budget (%d at once, then one every %s)", b.cfg.CommandBurst, every)
	whyCode := "over_budget"
	reply := say(loc, "slow.down", b.cfg.CommandBurst, recall.HumanDuration(b.cfg.CommandEvery, loc))
	if crowded {
		why = fmt.Sprintf("over the budget of everyone who is not an admin (%d at once, then one every %s)", b.cfg.CrowdBurst,
			recall.HumanDuration(b.cfg.CrowdEvery, "en"))
		whyCode = "over_crowd_budget"
		reply = say(loc, "busy")
	}
	req.log.Warn("command dropped: " + why + "; the sender's further ones this minute are only counted")
	req.chat = b.chatOf(ctx, m)
	where := req.chat
	b.writeAccess(ctx, ledger.AuditRecord{At: now, Actor: m.SenderStaffID, Action: "command.over_budget", Trail: ledger.TrailAccess,
		Scope: auditedText(m.Text), About: &ledger.AuditAbout{Chat: &where}, Why: whyCode})
	b.reply(dingtalk.WithPriority(ctx, dingtalk.Bulk), req, reply)
	return false
}

// overBudgetSummary is the record of a minute's commands over the budget
// that were only counted.
func overBudgetSummary(m *refusals.Minute) ledger.AuditRecord {
	return m.Record("chat", "command.over_budget", ledger.TrailAccess)
}

// FlushRefused writes the summary of a finished minute's commands over the
// budget, if any; Run calls it every FlushEvery.
func (b *Bot) FlushRefused(ctx context.Context) {
	if s := b.over.Flush(b.cfg.Now()); s != nil {
		b.writeAccess(ctx, overBudgetSummary(s))
	}
}

// writeAccess appends a record to the access trail.
func (b *Bot) writeAccess(ctx context.Context, r ledger.AuditRecord) {
	if _, err := b.led.AppendAudit(context.WithoutCancel(ctx), r); err != nil {
		b.log.Error("refused command not audited", zap.Error(err))
	}
}

// Run writes the summary of each finished minute's commands over the
// budget (FlushRefused), every FlushEvery, until ctx ends.
func (b *Bot) Run(ctx context.Context) error {
	t := time.NewTicker(b.cfg.FlushEvery)
	defer t.Stop()
	for {
		b.FlushRefused(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
