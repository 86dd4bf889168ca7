package recall

import (
	"context"
	"fmt"
	"iter"
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
// is planned (StartStep), marked dispatched at the last moment before its
// request is written (DispatchStep, from the client's guard) and settled
// (SettleStep), so a job resumes after a restart or on another instance,
// never sends to anyone twice, and leaves in doubt only a call that may
// have been made. Users DingTalk flow-controls are tried again in later
// calls; invalid and filtered users are counted failed. Broadcasts are bulk work: a
// chat command's reply goes first.

// BroadcastAPI is the part of the DingTalk client a Broadcaster uses.
type BroadcastAPI interface {
	SendAPI
	SendOTOMany(ctx context.Context, userIDs []string, m dingtalk.Message) (dingtalk.OTOResult, error)
}

// jobLedger is what stopping a broadcast needs of the ledger: the job and
// its audit record; the Engine needs it too, to stop the broadcast of a
// batch it recalls.
type jobLedger interface {
	ledger.JobStore
	ledger.AuditStore
}

// BroadcastLedger is what a Broadcaster needs of the ledger: to run its
// jobs step by step (StepStore), read a step's entry (EntryReader) and
// renew its lease (TempStore's PutTemp).
type BroadcastLedger interface {
	jobLedger
	ledger.StepStore
	ledger.EntryReader
	ledger.TempStore
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
	// LedgerBackoff is the first wait before a step the ledger could not
	// write (or mark dispatched) is tried again, doubled up to 10 s;
	// default 250 ms.
	LedgerBackoff time.Duration
	// Redact is applied to the excerpt kept in the ledger; see SenderConfig.
	Redact func(string) string
	// Guard, when set, inspects each broadcast's message once, before it
	// starts (auto-recall's block rules).
	Guard Guard
	// Spool takes the keys the ledger cannot.
	Spool *ledger.Spool
	Now   func() time.Time
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
	// running is held by RunOnce: one runner per instance, so that a
	// planned step is never handed to two workers of the same owner.
	running sync.Mutex

	listErrors, stepErrors quiet.Log
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
	if cfg.LedgerBackoff <= 0 {
		cfg.LedgerBackoff = 250 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &Broadcaster{led: led, api: api, log: log.Named("broadcast"), cfg: cfg, guard: cfg.Guard, spool: cfg.Spool, wake: make(chan struct{}, 1)}
	b.lease.init(led, cfg.Owner, cfg.LeaseTTL, b.log)
	return b
}

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
// in the background (Run). It returns the job as recorded. A job the
// ledger cannot record durably is refused (the error is the ledger's) and
// nothing of it is sent.
func (b *Broadcaster) Start(ctx context.Context, req BroadcastRequest) (ledger.Job, error) {
	if err := req.Message.Validate(); err != nil {
		return ledger.Job{}, &SelectionError{Msg: err.Error()}
	}
	if req.ExpiresIn < 0 || req.ExpiresIn > b.cfg.Window-selfDestructMargin {
		msg := fmt.Sprintf("expires_in %s is too long: at most %s", HumanDuration(req.ExpiresIn, "en"), HumanDuration(b.cfg.Window-selfDestructMargin, "en"))
		return ledger.Job{}, &SelectionError{Msg: msg}
	}
	if err := checkTargets(req.Chats); err != nil {
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
		Created: b.cfg.Now()}, broadcastSteps(req.Chats, repeats(req.Chats)))
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

// checkTargets validates every target before anything is written.
func checkTargets(chats []ledger.Chat) error {
	if len(chats) == 0 {
		return &SelectionError{Msg: "a broadcast needs at least one target", Zh: "群发至少需要一个接收方"}
	}
	for i, c := range chats {
		if err := c.Validate(); err != nil {
			return &SelectionError{Msg: fmt.Sprintf("targets[%d]: %v", i, err), Zh: fmt.Sprintf("第 %d 个接收方有误：%v", i+1, err)}
		}
	}
	return nil
}

// broadcastSteps yields the send calls of checked targets, as the ledger
// stores them: one per group or private chat, and the oto users 20 to a
// call, each in a slice of its own; a chat given twice (marked in the set
// rep, from repeats) counts once. The targets are never copied whole (the
// ledger takes the steps a chunk at a time), so a broadcast to 100,000
// costs little more than its request.
func broadcastSteps(chats []ledger.Chat, rep []uint64) iter.Seq[[]ledger.Chat] {
	return func(yield func([]ledger.Chat) bool) {
		var users []ledger.Chat
		for i, c := range chats {
			if repeated(rep, i) {
				continue
			}
			if c.Family == ledger.OTO {
				c.ConversationID = ""
			}
			if c.Family != ledger.OTO {
				if !yield([]ledger.Chat{c}) {
					return
				}
				continue
			}
			if users == nil {
				users = make([]ledger.Chat, 0, dingtalk.MaxRecipients)
			}
			if users = append(users, c); len(users) == dingtalk.MaxRecipients {
				if !yield(users) {
					return
				}
				users = nil
			}
		}
		if len(users) > 0 {
			yield(users)
		}
	}
}

// Status returns a broadcast's progress.
func (b *Broadcaster) Status(ctx context.Context, id string) (ledger.Job, error) {
	return b.led.GetJob(ctx, id)
}
