package recall

import (
	"context"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// Resume takes over entries left recalling by an engine that stopped (a
// crash, a shutdown, a lost connection to the ledger): only claims whose
// owner's lease has lapsed, compare-and-swap, so a live owner's work is
// never recalled twice and two engines resuming at once split the claims
// between them. It then finishes those recalls, knowing the stopped engine
// may have made its call unheard. The claims of a job (ForJob) are left
// to its own resumer for Config.JobClaimGrace: it finishes the job as the
// job, with its record and its actor.
func (e *Engine) Resume(ctx context.Context) (*Receipt, error) {
	stuck, err := e.led.InState(ctx, ledger.Recalling, e.cfg.MaxSelection)
	if err != nil {
		return nil, err
	}
	now := e.cfg.Now()
	var ids []uint64
	for _, en := range stuck {
		if _, job := JobOf(en.ClaimedBy); en.ClaimedBy == e.cfg.Owner || job && now.Sub(en.UpdatedAt) < e.cfg.JobClaimGrace {
			continue
		}
		ids = append(ids, en.ID)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	taken, err := e.led.TakeOver(ctx, ids, e.claimant(now), now.Add(-e.cfg.StaleClaim))
	if err != nil || len(taken) == 0 {
		return nil, err
	}
	e.lease.renewed(time.Now())
	sort.Slice(taken, func(i, j int) bool { return taken[i].ID < taken[j].ID })
	r := &Receipt{Scope: Selection{IDs: make([]uint64, len(taken))}.Describe(e.cfg.Locale)}
	items, calls := e.recallClaimed(ctx, oneBatch(taken), true, nil)
	for _, en := range taken {
		r.Items = append(r.Items, items[en.ID])
	}
	r.Calls = calls
	e.countOutcomes(r)
	about := &ledger.AuditAbout{Entries: len(taken)}
	return r, e.audit(ctx, Request{Actor: "system", Action: "resume", About: about, Why: "interrupted"}, r)
}

// jobSep separates an engine's owner name from the job its claims are for.
const jobSep = "/"

// ForJob returns an engine like e whose claims and lease are named for job
// (owner/job): a recall that must be finished as itself after a crash (an
// asynchronous recall, which has a record and an actor) is found again by
// the claims it left, which Resume leaves to ResumeJob.
func (e *Engine) ForJob(job string) *Engine {
	cfg := e.cfg
	cfg.Owner = e.cfg.Owner + jobSep + job
	ne := &Engine{led: e.led, api: e.api, status: e.status, log: e.log.With(zap.String("job", job)), cfg: cfg}
	ne.lease.init(e.led, cfg.Owner, cfg.LeaseTTL, ne.log)
	return ne
}

// JobOf is the job an owner's claims are for, if they are a job's.
func JobOf(owner string) (job string, ok bool) {
	_, job, ok = strings.Cut(owner, jobSep)
	return job, ok
}

// Keep writes this engine's lease now and keeps it renewed until release
// is called: a job holds it for its whole run (asking who has read its
// messages may take a while before its first claim), so that whoever
// finds its lease gone knows the job's instance stopped.
func (e *Engine) Keep(ctx context.Context) (release func(), err error) {
	if err := e.led.PutTemp(ctx, ledger.LeaseNS, e.cfg.Owner, nil, e.cfg.LeaseTTL); err != nil {
		return nil, err
	}
	e.lease.renewed(time.Now())
	release, _ = e.lease.hold()
	return release, nil
}

// ResumeJob finishes, as req (its actor, scope and note), a job whose
// engine (from) stopped: what from recalled before it stopped is reported
// recalled (its doing), the claims it left are taken over and finished
// knowing its last call may have applied unheard, and the rest of req's
// selection is recalled as Execute does, audited once, as req.Actor.
func (e *Engine) ResumeJob(ctx context.Context, req Request, from string) (*Receipt, error) {
	r, err := e.Plan(ctx, req.Selection)
	if err != nil {
		return nil, err
	}
	var stuck []uint64
	for i := range r.Items {
		en := &r.Items[i].Entry
		if en.ClaimedBy != from || en.ID == 0 {
			continue
		}
		switch en.State {
		case ledger.Recalling:
			stuck = append(stuck, en.ID)
		case ledger.Recalled:
			r.Items[i].Outcome, r.Items[i].Reason = Recalled, ""
		}
	}
	calls := 0
	if len(stuck) > 0 {
		now := e.cfg.Now()
		taken, err := e.led.TakeOver(ctx, stuck, e.claimant(now), now)
		if err != nil {
			return nil, err
		}
		if len(taken) > 0 {
			e.lease.renewed(time.Now())
		}
		var items map[uint64]Item
		items, calls = e.recallClaimed(ctx, oneBatch(taken), true, nil)
		for i := range r.Items {
			if it, ok := items[r.Items[i].Entry.ID]; ok {
				it.Reads = r.Items[i].Reads
				r.Items[i] = it
			}
		}
	}
	out, err := e.Execute(ctx, req, r)
	if err != nil {
		return nil, err
	}
	out.Calls += calls
	return out, nil
}
