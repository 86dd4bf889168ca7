package recall

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/internal/quiet"
	"github.com/recallbot/recallbot/ledger"
)

// A broadcast sends one message to many chats as a durable job (ledger.Job):
// oto users are packed 20 to an oToMessages/batchSend call, which answers
// one key for all of them, so 100,000 people take 5,000 calls and their
// recall 250; group and person-to-person chats take a call each. Each call
// is written ahead (StartStep), so a job resumes after a restart or on
// another instance and never sends to anyone twice. Users DingTalk
// flow-controls are tried again in later calls; invalid users are counted
// failed. Broadcasts are bulk work: a chat command's reply goes first.

// BroadcastAPI is the part of the DingTalk client a Broadcaster uses.
type BroadcastAPI interface {
	SendAPI
	SendOTOMany(ctx context.Context, userIDs []string, m dingtalk.Message) (dingtalk.OTOResult, error)
}

// BroadcastLedger is what a Broadcaster needs of the ledger.
type BroadcastLedger interface {
	CreateJob(ctx context.Context, j ledger.Job, steps [][]ledger.Chat) (ledger.Job, error)
	GetJob(ctx context.Context, id string) (ledger.Job, error)
	JobSteps(ctx context.Context, id string, from, n int) ([][]ledger.Chat, error)
	StartStep(ctx context.Context, id, owner string, step int, e ledger.Entry) (ledger.Entry, ledger.Job, error)
	SettleStep(ctx context.Context, id string, entryID uint64, t ledger.Transition, d ledger.JobDelta) (ledger.Entry, ledger.Job, error)
	UpdateJob(ctx context.Context, id string, fn func(*ledger.Job) error) (ledger.Job, error)
	TakeJob(ctx context.Context, id string, by ledger.Claimant) (ledger.Job, bool, error)
	Jobs(ctx context.Context, s ledger.JobState) ([]ledger.Job, error)
	PutTemp(ctx context.Context, ns, id string, value []byte, ttl time.Duration) error
	AppendAudit(ctx context.Context, r ledger.AuditRecord) (ledger.AuditRecord, error)
}

// BroadcastConfig tunes a Broadcaster; the zero value is the default.
type BroadcastConfig struct {
	// Owner names this instance on the jobs it runs; default as Engine's.
	Owner string
	// LeaseTTL is how long a job stays this instance's without renewal;
	// default 30 s.
	LeaseTTL time.Duration
	// Concurrency fixes one job's calls in flight. Default: as many as the
	// client says keep its pace busy at the round trip it measures, followed
	// while the job runs (see Config.Concurrency). The pace is the client's.
	Concurrency int
	// RetryAfter is how long flow-controlled users wait for their next
	// call; default 30 s. MaxTries bounds their calls; default 5, then
	// they count failed.
	RetryAfter time.Duration
	MaxTries   int
	// Window is DingTalk's recall window, for expires_in; default 24 h.
	Window time.Duration
	// Every is how often Run looks for jobs to run or take over; default
	// 2 s (a new job starts at once).
	Every time.Duration
	// Redact is applied to the excerpt kept in the ledger; see SenderConfig.
	Redact func(string) string
	Now    func() time.Time
}

// Broadcaster runs broadcasts.
type Broadcaster struct {
	led   BroadcastLedger
	api   BroadcastAPI
	log   *zap.Logger
	cfg   BroadcastConfig
	guard Guard
	spool *ledger.Spool
	lease lease
	wake  chan struct{}

	listErrors quiet.Log
}

// NewBroadcaster returns a Broadcaster; Run runs its jobs.
func NewBroadcaster(led BroadcastLedger, api BroadcastAPI, log *zap.Logger, cfg BroadcastConfig) *Broadcaster {
	if cfg.Owner == "" {
		cfg.Owner = NewOwner()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 30 * time.Second
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = 5
	}
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.Every <= 0 {
		cfg.Every = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &Broadcaster{led: led, api: api, log: log.Named("broadcast"), cfg: cfg, wake: make(chan struct{}, 1)}
	b.lease.init(led, cfg.Owner, cfg.LeaseTTL, b.log)
	return b
}

// SetGuard installs the guard that inspects each broadcast's message once,
// before it starts (auto-recall's block rules).
func (b *Broadcaster) SetGuard(g Guard) { b.guard = g }

// UseSpool gives the Broadcaster the spool for keys the ledger cannot take.
func (b *Broadcaster) UseSpool(sp *ledger.Spool) { b.spool = sp }

// BroadcastRequest is one broadcast.
type BroadcastRequest struct {
	Chats   []ledger.Chat
	Message dingtalk.Message
	// BatchID names it; default a new one.
	BatchID   string
	ExpiresIn time.Duration
	Actor     string
}

// Start checks req, records it as a job and wakes the runner; the job runs
// in the background (Run). It returns the job as recorded.
func (b *Broadcaster) Start(ctx context.Context, req BroadcastRequest) (ledger.Job, error) {
	if err := req.Message.Validate(); err != nil {
		return ledger.Job{}, &SelectionError{Msg: err.Error()}
	}
	if req.ExpiresIn < 0 || req.ExpiresIn > b.cfg.Window-selfDestructMargin {
		msg := fmt.Sprintf("expires_in %s is too long: at most %s", HumanDuration(req.ExpiresIn, "en"), HumanDuration(b.cfg.Window-selfDestructMargin, "en"))
		return ledger.Job{}, &SelectionError{Msg: msg}
	}
	steps, err := broadcastSteps(req.Chats)
	if err != nil {
		return ledger.Job{}, err
	}
	if b.guard != nil {
		if err := b.guard.Before(ctx, req.Chats[0], req.Message, SendOptions{Origin: ledger.OriginAPI, Actor: req.Actor}); err != nil {
			return ledger.Job{}, err
		}
	}
	if req.BatchID == "" {
		req.BatchID = NewBatchID(b.cfg.Now())
	}
	j, err := b.led.CreateJob(ctx, ledger.Job{ID: req.BatchID, MsgKey: req.Message.MsgKey, MsgParam: string(req.Message.MsgParam),
		Excerpt: Excerpt(redactWith(b.cfg.Redact, req.Message.Content())), ContentHash: ContentHash(req.Message), Actor: req.Actor, ExpiresIn: req.ExpiresIn,
		Created: b.cfg.Now()}, steps)
	if err != nil {
		return ledger.Job{}, err
	}
	b.log.Info("broadcast started", zap.String("batch", j.ID), zap.Int("recipients", j.Recipients), zap.Int("calls", j.Steps))
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return j, nil
}

// broadcastSteps turns targets into send calls: one per group or private
// chat, then the oto users 20 to a call. A chat given twice counts once.
func broadcastSteps(chats []ledger.Chat) ([][]ledger.Chat, error) {
	if len(chats) == 0 {
		return nil, &SelectionError{Msg: "a broadcast needs at least one target", Zh: "群发至少需要一个接收方"}
	}
	seen := make(map[string]bool, len(chats))
	var steps [][]ledger.Chat
	var users []ledger.Chat
	for i, c := range chats {
		if err := c.Validate(); err != nil {
			return nil, &SelectionError{Msg: fmt.Sprintf("targets[%d]: %v", i, err), Zh: fmt.Sprintf("第 %d 个接收方有误：%v", i+1, err)}
		}
		if c.Family == ledger.OTO {
			c.ConversationID = ""
		}
		if seen[c.Key()] {
			continue
		}
		seen[c.Key()] = true
		if c.Family == ledger.OTO {
			users = append(users, c)
		} else {
			steps = append(steps, []ledger.Chat{c})
		}
	}
	for i := 0; i < len(users); i += dingtalk.MaxRecipients {
		steps = append(steps, users[i:min(i+dingtalk.MaxRecipients, len(users))])
	}
	return steps, nil
}

// Status returns a broadcast's progress.
func (b *Broadcaster) Status(ctx context.Context, id string) (ledger.Job, error) {
	return b.led.GetJob(ctx, id)
}

// Cancel stops a running broadcast: no call starts after it. What was sent
// stays, and is recallable by its batch id.
func (b *Broadcaster) Cancel(ctx context.Context, id, actor string) (ledger.Job, error) {
	j, err := b.led.UpdateJob(ctx, id, func(j *ledger.Job) error {
		if j.State == ledger.JobRunning {
			j.State = ledger.JobCancelled
		}
		return nil
	})
	if err == nil {
		_, aerr := b.led.AppendAudit(ctx, ledger.AuditRecord{At: b.cfg.Now(), Actor: actor, Action: "broadcast.cancel", Allowed: true,
			Scope: "batch " + id, Note: fmt.Sprintf("%d of %d recipients reached", j.Sent, j.Recipients)})
		if aerr != nil {
			b.log.Error("cancel not audited", zap.Error(aerr))
		}
	}
	return j, err
}

// Run runs broadcasts until ctx ends: new ones at once, and every Every
// any running one without a live runner (another instance that stopped).
// Jobs run one after another; each job's calls go a few at a time.
func (b *Broadcaster) Run(ctx context.Context) {
	t := time.NewTicker(b.cfg.Every)
	defer t.Stop()
	for {
		b.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
		}
	}
}

// RunOnce runs every running broadcast this instance can take, to its end
// or until ctx ends, and returns how many it ran.
func (b *Broadcaster) RunOnce(ctx context.Context) int {
	jobs, err := b.led.Jobs(ctx, ledger.JobRunning)
	if err != nil {
		if ctx.Err() == nil {
			b.listErrors.Warn(b.log, "listing broadcasts", err)
		}
		return 0
	}
	b.listErrors.Reset()
	slices.SortFunc(jobs, func(x, y ledger.Job) int { return x.Created.Compare(y.Created) })
	ran := 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		j, mine, err := b.led.TakeJob(ctx, j.ID, ledger.Claimant{Owner: b.cfg.Owner, At: b.cfg.Now(), LeaseTTL: b.cfg.LeaseTTL})
		if err != nil || !mine {
			continue
		}
		b.lease.renewed(time.Now())
		ran++
		b.run(ctx, j)
	}
	return ran
}

// step is one send call of a job, written ahead.
type step struct {
	entry   ledger.Entry
	targets []ledger.Chat
	tries   map[string]int // for a retry step: each user's calls so far
}

// run takes a job's remaining steps in order, a few calls in flight, then
// its retries as they come due, and marks it done.
func (b *Broadcaster) run(ctx context.Context, j ledger.Job) {
	release, leaseValid := b.lease.hold()
	defer release()
	ctx = dingtalk.WithGuard(ctx, func() error {
		if !leaseValid(time.Now()) {
			return errLeaseLost
		}
		return nil
	})
	ctx = dingtalk.WithPriority(ctx, dingtalk.Bulk)
	for ctx.Err() == nil {
		if !b.pass(ctx, j, leaseValid) {
			return
		}
		// Calls still in flight at the end of a pass may have queued
		// flow-controlled users: another pass takes them.
		cur, err := b.led.GetJob(ctx, j.ID)
		if err != nil || cur.State != ledger.JobRunning {
			return
		}
		if !cur.Finished() {
			j = cur
			continue
		}
		cur, err = b.led.UpdateJob(ctx, j.ID, func(j *ledger.Job) error {
			if j.State == ledger.JobRunning && j.Finished() {
				j.State = ledger.JobDone
			}
			return nil
		})
		if err == nil && cur.State == ledger.JobDone {
			b.log.Info("broadcast done", zap.String("batch", cur.ID), zap.Int("recipients", cur.Recipients), zap.Int("sent", cur.Sent),
				zap.Int("failed", cur.Failed), zap.Int("pending", cur.Pending()), zap.Int("calls", cur.Calls))
		}
		return
	}
}

// pass starts every step it can, in order, with a few workers making the
// calls, and waits for them. It reports whether it got to the end of what
// there was to start (false: stopped, cancelled, or the lease or the
// ledger failed).
func (b *Broadcaster) pass(ctx context.Context, j ledger.Job, leaseValid func(time.Time) bool) bool {
	m := dingtalk.Message{MsgKey: j.MsgKey, MsgParam: []byte(j.MsgParam)}
	work := make(chan step)
	var wg sync.WaitGroup
	gate := newGate(b.api, b.cfg.Concurrency, sendAPIs...) // a worker takes a step only with a slot in flight
	for range cmp.Or(b.cfg.Concurrency, dingtalk.MaxInFlight) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for gate.Acquire(ctx) == nil {
				st, ok := <-work
				if ok {
					b.send(ctx, j.ID, m, st)
				}
				gate.Release()
				if !ok {
					return
				}
			}
		}()
	}
	ended := b.dispatch(ctx, j, work, leaseValid)
	close(work)
	wg.Wait()
	return ended && ctx.Err() == nil
}

// dispatch writes each step ahead and hands it to the workers.
func (b *Broadcaster) dispatch(ctx context.Context, j ledger.Job, work chan<- step, leaseValid func(time.Time) bool) bool {
	next := j.Next
	var targets [][]ledger.Chat
	for ctx.Err() == nil {
		if !leaseValid(time.Now()) {
			b.log.Warn("broadcast paused: this instance could not renew its lease", zap.String("batch", j.ID))
			return false
		}
		var st step
		if next < j.Steps {
			if len(targets) == 0 {
				var err error
				if targets, err = b.led.JobSteps(ctx, j.ID, next, 256); err != nil || len(targets) == 0 {
					b.log.Error("broadcast steps unreadable", zap.String("batch", j.ID), zap.Error(err))
					return false
				}
			}
			st.targets, targets = targets[0], targets[1:]
		} else if !b.retryDue(ctx, &j) {
			return true
		} else {
			st.tries = map[string]int{}
			for _, u := range j.Retry[:min(len(j.Retry), dingtalk.MaxRecipients)] {
				st.tries[u.UserID] = u.Tries
			}
		}
		e, nj, err := b.led.StartStep(ctx, j.ID, b.cfg.Owner, next, b.entry(j, st.targets))
		var jse *ledger.JobStateError
		switch {
		case errors.As(err, &jse):
			b.log.Info("broadcast stopped", zap.String("batch", j.ID), zap.String("why", jse.Why))
			return false
		case err != nil:
			b.log.Warn("broadcast step not written; trying again later", zap.String("batch", j.ID), zap.Int("step", next), zap.Error(err))
			return false
		}
		if next >= j.Steps {
			st.targets = e.Chats() // a retry's users came off the job's list
		} else {
			next++
		}
		st.entry, j = e, nj
		select {
		case work <- st:
		case <-ctx.Done():
			// Written ahead, never handed to a worker: not sent. Settle it
			// so (its users go round again on resume) rather than leave it
			// pending, in doubt for good.
			b.settleNotSent(context.WithoutCancel(ctx), j.ID, st, "stopped before the call")
		}
	}
	return false
}

// settleNotSent settles a step whose call was never made: its one-to-one
// users wait for a later call, as flow-controlled ones do; a chat's step
// is failed (a chat has no retry).
func (b *Broadcaster) settleNotSent(ctx context.Context, job string, st step, why string) {
	var d ledger.JobDelta
	t := ledger.Transition{To: ledger.SendFailed, Reason: "not sent: " + why}
	if st.entry.Chat.Family != ledger.OTO {
		d.Failed = 1
		d.Refused = []ledger.Refusal{{Target: st.entry.Chat.Key(), Reason: "not_sent"}}
	} else {
		for _, c := range st.targets {
			d.Retry = append(d.Retry, ledger.RetryUser{UserID: c.UserID, Tries: st.tries[c.UserID]})
		}
		d.RetryAt = b.cfg.Now()
	}
	b.settle(ctx, job, st.entry, t, d)
}

// retryDue waits for the job's flow-controlled users to come due, and
// reports whether a retry step is due now (false: nothing left to retry).
func (b *Broadcaster) retryDue(ctx context.Context, j *ledger.Job) bool {
	cur, err := b.led.GetJob(ctx, j.ID)
	if err != nil || cur.State != ledger.JobRunning || len(cur.Retry) == 0 {
		return false
	}
	*j = cur
	if d := j.RetryAt.Sub(b.cfg.Now()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// entry is the pending entry of a step to targets (a retry step's users
// are filled in by StartStep).
func (b *Broadcaster) entry(j ledger.Job, targets []ledger.Chat) ledger.Entry {
	now := b.cfg.Now()
	e := ledger.Entry{Chat: ledger.Chat{Family: ledger.OTO}, MsgKey: j.MsgKey, Excerpt: j.Excerpt, ContentHash: j.ContentHash,
		SentAt: now, Origin: ledger.OriginAPI, Actor: j.Actor, BatchID: j.ID}
	switch {
	case len(targets) == 1 && targets[0].Family != ledger.OTO:
		e.Chat = targets[0]
	case len(targets) > 0:
		e.Recipients = make([]string, len(targets))
		for i, c := range targets {
			e.Recipients[i] = c.UserID
		}
	}
	if j.ExpiresIn > 0 {
		e.ExpiresAt = now.Add(j.ExpiresIn)
	}
	return e
}

// send makes one step's call and settles it.
func (b *Broadcaster) send(ctx context.Context, job string, m dingtalk.Message, st step) {
	e := st.entry
	var key string
	var reached []string
	var d ledger.JobDelta
	var err error
	if e.Chat.Family == ledger.OTO {
		users := make([]string, len(st.targets))
		for i, c := range st.targets {
			users[i] = c.UserID
		}
		var r dingtalk.OTOResult
		if r, err = b.api.SendOTOMany(ctx, users, m); err == nil {
			key, reached = r.Key, r.Reached(users)
			d.Sent, d.Failed = len(reached), len(r.Invalid)
			for _, u := range r.Invalid {
				d.Refused = append(d.Refused, ledger.Refusal{Target: u, Reason: "invalid"})
			}
			for _, u := range r.FlowControlled {
				if tries := st.tries[u] + 1; tries < b.cfg.MaxTries {
					d.Retry = append(d.Retry, ledger.RetryUser{UserID: u, Tries: tries})
				} else {
					d.Failed++
					d.Refused = append(d.Refused, ledger.Refusal{Target: u, Reason: "flow_controlled"})
				}
			}
			if len(d.Retry) > 0 {
				d.RetryAt = b.cfg.Now().Add(b.cfg.RetryAfter)
			}
		}
	} else {
		if e.Chat.Family == ledger.Group {
			key, err = b.api.SendGroup(ctx, e.Chat.ConversationID, m)
		} else {
			key, err = b.api.SendPrivate(ctx, e.Chat.ConversationID, m)
		}
		if err == nil {
			d.Sent = 1
		}
	}
	wctx := context.WithoutCancel(ctx)
	var t ledger.Transition
	switch {
	case err == nil && d.Sent == 0: // DingTalk reached nobody of the call
		t = ledger.Transition{To: ledger.SendFailed, Reason: "no recipient reached: invalid or flow-controlled"}
	case err == nil:
		t = ledger.Transition{To: ledger.Sent, Key: key}
		if e.Chat.Family == ledger.OTO && len(reached) != e.Reach() {
			t.Recipients = reached
		}
	case dingtalk.Ambiguous(err):
		b.log.Warn("broadcast call got no answer; its recipients stay pending", zap.String("batch", job), zap.Uint64("entry", e.ID), zap.Error(err))
		return
	case dingtalk.NotSent(err) && e.Chat.Family == ledger.OTO: // nobody got it: the users go round again
		t = ledger.Transition{To: ledger.SendFailed, Reason: "not sent: " + dingtalk.Describe(err, "en")}
		for _, c := range st.targets {
			if tries := st.tries[c.UserID] + 1; tries < b.cfg.MaxTries {
				d.Retry = append(d.Retry, ledger.RetryUser{UserID: c.UserID, Tries: tries})
			} else {
				d.Failed++
				d.Refused = append(d.Refused, ledger.Refusal{Target: c.UserID, Reason: "not_sent"})
			}
		}
		d.RetryAt = b.cfg.Now().Add(b.cfg.RetryAfter)
	default: // refused: nobody of the call got it
		d = ledger.JobDelta{Failed: e.Reach()}
		t = ledger.Transition{To: ledger.SendFailed, Reason: failReason(err)}
		for _, c := range st.targets {
			target := c.UserID
			if c.Family != ledger.OTO {
				target = c.Key()
			}
			d.Refused = append(d.Refused, ledger.Refusal{Target: target, Reason: t.Reason})
		}
	}
	b.settle(wctx, job, e, t, d)
}

// settle records a step's outcome, retrying into a failing ledger for a
// few seconds, then into the spool: a key DingTalk returned is never lost.
func (b *Broadcaster) settle(ctx context.Context, job string, e ledger.Entry, t ledger.Transition, d ledger.JobDelta) {
	err := retryWrite(ctx, 5*time.Second, func(ctx context.Context) error {
		_, _, err := b.led.SettleStep(ctx, job, e.ID, t, d)
		return err
	})
	if err == nil {
		return
	}
	if t.Key == "" || b.spool == nil {
		b.log.Error("broadcast step not recorded", zap.String("batch", job), zap.Uint64("entry", e.ID), zap.Error(err))
		return
	}
	serr := b.spool.AddOrHold(ledger.SpoolRecord{Seq: b.spool.NextSeq(), Entry: e, Key: t.Key, Recipients: t.Recipients, Job: job, Delta: &d})
	if serr != nil {
		b.log.Error("sent, but neither the ledger nor the spool's disk took the key: held in memory and retried", zap.String("batch", job),
			zap.Uint64("entry", e.ID), zap.String("process_query_key", t.Key), zap.Error(errors.Join(err, serr)))
	}
}
