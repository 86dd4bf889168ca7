package alerts

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/internal/quiet"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Ledger is what the reconciler needs of the ledger: the alert groups
// (AlertStore), their messages' entries (EntryReader), and its lease and
// the records it keeps a while (TempStore).
type Ledger interface {
	ledger.AlertStore
	ledger.EntryReader
	ledger.TempStore
}

// API is the part of the DingTalk client the reconciler calls.
type API interface {
	SendCard(ctx context.Context, to dingtalk.CardChat, bizID string, data json.RawMessage) (string, error)
	UpdateCard(ctx context.Context, bizID string, data json.RawMessage) (string, error)
	SendGroup(ctx context.Context, conversationID string, m dingtalk.Message) (string, error)
	SendOTO(ctx context.Context, userID string, m dingtalk.Message) (string, error)
}

// Recaller takes superseded and resolved messages back (the recall
// engine: claimed, audited, each key once).
type Recaller interface {
	Recall(ctx context.Context, req recall.Request) (*recall.Receipt, error)
}

// ReconcilerConfig tunes a Reconciler; the zero value of each field is
// its default.
type ReconcilerConfig struct {
	Alerts Config
	// Locale of the messages: "zh" (default) or "en".
	Locale string
	// Owner names this instance on the groups it works on (the recall
	// engine's owner: one lease for the process); LeaseTTL is how long a
	// group stays this instance's without a word from it; default 30 s.
	Owner    string
	LeaseTTL time.Duration
	// Workers is how many groups are worked on at once; default 4. The
	// DingTalk client's pace, not this, bounds a storm.
	Workers int
	// Every is how often the ledger is read for groups with work to do
	// (another instance's notifications, retries); default 2 s.
	Every time.Duration
	// Redact is applied to the excerpt the ledger keeps of each message.
	Redact func(string) string
	// Spool takes the keys the ledger cannot.
	Spool *ledger.Spool
	// LateAnswer is how long a markdown send DingTalk did not answer in
	// time keeps listening for its answer; a key that comes is recorded
	// and the message recalled. Default 2 minutes; negative: not at all.
	LateAnswer time.Duration
	// Now is the clock of the messages' times; default time.Now.
	Now func() time.Time
}

// Reconciler makes every chat show exactly one current message per alert
// group: the ledger says what each group should show; the reconciler
// sends, updates, supersedes and recalls until the chat agrees. Only a
// group's latest state goes out, however many notifications came while
// it waited its turn.
type Reconciler struct {
	led     Ledger
	api     API
	rec     Recaller
	log     *zap.Logger
	cfg     ReconcilerConfig
	metrics *Metrics
	spool   *ledger.Spool
	cards   cardState

	mu      sync.Mutex
	queued  map[string]bool
	busy    map[string]bool
	retryAt map[string]retry
	wake    chan struct{}

	scanErrors quiet.Log
	late       sync.WaitGroup // the readers of late answers (dingtalk.WithLateAnswer)
}

type retry struct {
	at    time.Time
	tries int
}

// NewReconciler returns a Reconciler; Run runs it.
func NewReconciler(led Ledger, api API, rec Recaller, log *zap.Logger, metrics *Metrics, cfg ReconcilerConfig) *Reconciler {
	cfg.Alerts = cfg.Alerts.WithDefaults()
	if cfg.Locale == "" {
		cfg.Locale = "zh"
	}
	if cfg.Owner == "" {
		cfg.Owner = recall.NewOwner()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Every <= 0 {
		cfg.Every = 2 * time.Second
	}
	if cfg.LateAnswer == 0 {
		cfg.LateAnswer = 2 * time.Minute
	}
	if cfg.Redact == nil {
		cfg.Redact = func(s string) string { return s }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reconciler{led: led, api: api, rec: rec, log: log.Named("alerts"), cfg: cfg, metrics: metrics, spool: cfg.Spool,
		queued: map[string]bool{}, busy: map[string]bool{}, retryAt: map[string]retry{}, wake: make(chan struct{}, 1)}
}

// Notify says a group has something new: it is worked on at once.
func (r *Reconciler) Notify(id string) {
	r.mu.Lock()
	r.queued[id] = true
	r.mu.Unlock()
	r.poke()
}

func (r *Reconciler) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works on groups until ctx ends: those Notify names at once, and
// every Every those the ledger lists as due (another instance's
// notifications, groups whose last try failed). Each group is worked on
// by one worker at a time; what it is told meanwhile it sees when it
// reads the group again.
func (r *Reconciler) Run(ctx context.Context) error {
	work := make(chan string)
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				r.finish(id, r.work(ctx, id))
			}
		}()
	}
	defer r.late.Wait() // last: they end with ctx
	defer wg.Wait()
	defer close(work)
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	scan := true
	for {
		if scan {
			r.scan(ctx)
			scan = false
		}
		for _, id := range r.ready() {
			select {
			case work <- id:
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			scan = true
		case <-r.wake:
		}
	}
}

// scan queues the groups the ledger lists as due, and learns whether
// another instance found DingTalk refusing cards.
func (r *Reconciler) scan(ctx context.Context) {
	r.refreshCards(ctx)
	due, err := r.led.DueAlerts(ctx, 1000)
	if err != nil {
		if ctx.Err() == nil {
			r.scanErrors.Warn(r.log, "listing alert groups with work to do", err)
		}
		return
	}
	// Groups a silence of whose ended: their messages drop it now, not at
	// the next notification.
	woken, err := r.led.AlertsToWake(ctx, r.cfg.Now(), 1000)
	if err != nil {
		if ctx.Err() == nil {
			r.scanErrors.Warn(r.log, "listing alert groups whose silence ended", err)
		}
		return
	}
	r.scanErrors.Reset()
	r.mu.Lock()
	for _, g := range append(due, woken...) {
		r.queued[g.ID] = true
	}
	r.mu.Unlock()
}

// ready takes the queued groups no worker holds and whose retry is due.
func (r *Reconciler) ready() []string {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id := range r.queued {
		if r.busy[id] || now.Before(r.retryAt[id].at) {
			continue
		}
		delete(r.queued, id)
		r.busy[id] = true
		out = append(out, id)
	}
	return out
}

// finish releases a group after a worker's turn; a failure puts its next
// try off (2 s, doubling to 2 minutes).
func (r *Reconciler) finish(id string, err error) {
	r.mu.Lock()
	delete(r.busy, id)
	if err == nil {
		delete(r.retryAt, id)
	} else {
		rt := r.retryAt[id]
		rt.tries++
		rt.at = time.Now().Add(min(2*time.Second<<min(rt.tries-1, 6), 2*time.Minute))
		r.retryAt[id] = rt
		r.queued[id] = true // the scan finds it too; this keeps it without one
	}
	r.mu.Unlock()
	if err != nil {
		r.log.Warn("alert group not brought in line yet; trying again later", zap.String("group", ShortID(id)), zap.Error(err))
	}
	r.poke()
}
