package autorecall

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/internal/invisible"
	"github.com/recallbot/recallbot/internal/quiet"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Config configures the Service; zero values are the defaults.
type Config struct {
	// Rules are the detectors, in order; nil means DefaultRules.
	Rules []Rule
	// MaxPerMinute is the circuit breaker: more automatic recalls than this
	// in a minute pause automatic recall and alert the admins. Default 50.
	MaxPerMinute int
	// PauseFor is how long a tripped breaker pauses; default 10 minutes.
	PauseFor time.Duration
	// DuplicateWindow is how close two identical messages to one chat must
	// be to count as a duplicate; default 60 s.
	DuplicateWindow time.Duration
	// OwnSecrets are the bot's credentials: a message containing one is
	// always a leak.
	OwnSecrets []string
	// Admins are told about every incident, in their 1:1 chat with the bot.
	Admins []string
	// Locale of the admin reports: "zh" (default) or "en".
	Locale string
	// DueEvery is how often Run recalls what is due; default 1 s.
	DueEvery time.Duration
	Now      func() time.Time
}

// Metrics is what the Service counts (httpapi.Metrics implements it).
type Metrics interface {
	AutoRecall(rule, mode string)
}

// Ledger is what the Service needs of the ledger: duplicates and the due
// list of self-destructs (EntryLister, EntryReader), rescheduling and
// corrections (EntryWriter), its pause and confirmations (TempStore), and
// the audit trail (AuditStore).
type Ledger interface {
	ledger.EntryLister
	ledger.EntryReader
	ledger.EntryWriter
	ledger.TempStore
	ledger.AuditStore
}

// Service applies the rules to every send (it is the Sender's guard),
// supersedes, retracts and self-destructs messages.
type Service struct {
	cfg     Config
	rules   []compiled
	led     Ledger
	sender  *recall.Sender
	engine  *recall.Engine
	log     *zap.Logger
	metrics Metrics
	breaker breaker
	// dueErrors rate-limits the log of a ledger that cannot list due
	// self-destructs (every tick during an outage).
	dueErrors quiet.Log
}

// New validates the rules and returns a Service; metrics may be nil. The
// Service sends its corrections and reports through sender with itself as
// the guard (Sender.WithGuard): give the app's sends the same guard with
// sender.WithGuard(service).
func New(cfg Config, led Ledger, sender *recall.Sender, engine *recall.Engine, log *zap.Logger, metrics Metrics) (*Service, error) {
	if cfg.Rules == nil {
		cfg.Rules = DefaultRules
	}
	if cfg.MaxPerMinute <= 0 {
		cfg.MaxPerMinute = 50
	}
	if cfg.PauseFor <= 0 {
		cfg.PauseFor = 10 * time.Minute
	}
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = time.Minute
	}
	if cfg.Locale == "" {
		cfg.Locale = "zh"
	}
	if cfg.DueEvery <= 0 {
		cfg.DueEvery = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rules, err := compile(cfg.Rules, cfg.OwnSecrets)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, rules: rules, led: led, engine: engine, log: log.Named("autorecall"), metrics: metrics}
	s.sender = sender.WithGuard(s)
	s.breaker = breaker{max: cfg.MaxPerMinute, pause: cfg.PauseFor}
	return s, nil
}

// BlockedError is a send a rule refused.
type BlockedError struct {
	Rule   string
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("blocked by rule %s: the message contains %s", e.Rule, e.Reason)
}

func (s *Service) count(rule string, mode Mode) {
	if s.metrics != nil {
		s.metrics.AutoRecall(rule, string(mode))
	}
}

// findings runs the rules with action a against a message about to go (or
// just gone) to chat; except is the entry not to count as its own duplicate.
func (s *Service) findings(ctx context.Context, a Action, chat ledger.Chat, m dingtalk.Message, o recall.SendOptions, except uint64) []Finding {
	var out []Finding
	content := invisible.Strip(m.Content()) // a zero-width space inside a secret must not hide it
	for _, r := range s.rules {
		if r.Action != a {
			continue
		}
		if r.duplicates {
			if reason, ok := s.duplicate(ctx, chat, m, o, except); ok {
				out = append(out, Finding{Rule: r.Rule, Reason: reason})
			}
			continue
		}
		if reason, ok := r.d.detect(content); ok {
			out = append(out, Finding{Rule: r.Rule, Reason: reason})
		}
	}
	return out
}

// duplicate looks in the ledger for the same content sent to the same chat
// within the window: it sees what other instances sent too.
func (s *Service) duplicate(ctx context.Context, chat ledger.Chat, m dingtalk.Message, o recall.SendOptions, except uint64) (string, bool) {
	if o.Origin == ledger.OriginCommand {
		return "", false // the bot's own replies repeat by design
	}
	hash := recall.ContentHash(m)
	es, err := s.led.List(ctx, ledger.Query{Chat: chat, Since: s.cfg.Now().Add(-s.cfg.DuplicateWindow), Limit: 200,
		States: []ledger.State{ledger.Pending, ledger.Sent}, SkipOrigin: ledger.OriginCommand})
	if err != nil {
		s.log.Warn("duplicate check skipped", zap.Error(err))
		return "", false
	}
	for _, e := range es {
		if e.ID != except && e.ContentHash == hash {
			return fmt.Sprintf("the same content sent to this chat %s ago", s.cfg.Now().Sub(e.SentAt).Round(time.Second)), true
		}
	}
	return "", false
}

// Before refuses a send that an enforced block rule matches.
func (s *Service) Before(ctx context.Context, chat ledger.Chat, m dingtalk.Message, o recall.SendOptions) error {
	for _, f := range s.findings(ctx, Block, chat, m, o, 0) {
		s.count(f.Rule.Name, f.Rule.Mode)
		if f.Rule.Mode == Observe {
			s.log.Info("would block a message", zap.String("rule", f.Rule.Name), zap.String("reason", f.Reason), zap.String("chat", chat.Key()))
			continue
		}
		s.log.Warn("message blocked", zap.String("rule", f.Rule.Name), zap.String("reason", f.Reason), zap.String("chat", chat.Key()), zap.String("actor", o.Actor))
		where := chat
		_, err := s.led.AppendAudit(ctx, ledger.AuditRecord{At: s.cfg.Now(), Actor: "rule:" + f.Rule.Name, Action: "auto_block",
			About: &ledger.AuditAbout{Chat: &where, Sender: o.Actor}, Allowed: true, Note: f.Reason})
		if err != nil {
			s.log.Error("block not audited", zap.Error(err))
		}
		return &BlockedError{Rule: f.Rule.Name, Reason: f.Reason}
	}
	return nil
}

// caughtNS is where the rule that caught a sent message waits for the due
// worker (ledger temporary values, one per entry).
const caughtNS = "caught"

// caught is what a recall rule found in a sent message.
type caught struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// After schedules the recall of a sent message that an enforced recall
// rule matches. The send's caller does not wait for it: the entry goes on
// the ledger's due list (durable, once across instances) and the due
// worker recalls it and tells the admins on its next tick (RecallDue).
// Only if the ledger cannot take the schedule does After recall at once.
func (s *Service) After(ctx context.Context, e ledger.Entry, m dingtalk.Message, o recall.SendOptions) {
	fs := s.findings(ctx, Recall, e.Chat, m, o, e.ID)
	var enforce *Finding
	for i, f := range fs {
		s.count(f.Rule.Name, f.Rule.Mode)
		if f.Rule.Mode == Observe {
			s.log.Info("would recall a message", zap.String("rule", f.Rule.Name), zap.String("reason", f.Reason), zap.Uint64("entry", e.ID))
			continue
		}
		if enforce == nil {
			enforce = &fs[i]
		}
	}
	if enforce == nil {
		return
	}
	// Why first, then due: the due worker (on this instance or another)
	// may tick the moment the entry is due, and must find which rule
	// caught it to audit and report it under that rule. A crash between
	// the two leaves only the record of why, which expires; the message
	// stays as a crash before both would leave it.
	v, _ := json.Marshal(caught{Rule: enforce.Rule.Name, Reason: enforce.Reason})
	if err := s.led.PutTemp(ctx, caughtNS, strconv.FormatUint(e.ID, 10), v, 48*time.Hour); err != nil {
		s.log.Warn("the rule behind a scheduled recall was not recorded", zap.Uint64("entry", e.ID), zap.Error(err))
	}
	if err := s.led.Reschedule(ctx, e.ID, s.cfg.Now()); err != nil {
		s.log.Error("automatic recall not scheduled; recalling at once", zap.Uint64("entry", e.ID), zap.Error(err))
		if r := s.autoRecall(ctx, enforce.Rule.Name, enforce.Reason, []uint64{e.ID}); r == nil {
			s.log.Error("automatic recall did not run", zap.Uint64("entry", e.ID))
		}
	}
}

// autoRecall recalls ids on a rule's behalf, within the breaker, and
// reports the incident to the admins in one message (unless another
// instance got there first and this one did nothing).
func (s *Service) autoRecall(ctx context.Context, rule, reason string, ids []uint64) *recall.Receipt {
	now := s.cfg.Now()
	n, tripped := s.breaker.allow(now, len(ids))
	if tripped {
		s.log.Error("automatic recall paused: too many in a minute", zap.Int("max_per_minute", s.cfg.MaxPerMinute), zap.Duration("pause", s.cfg.PauseFor))
		s.notify(ctx, s.say("paused", s.cfg.MaxPerMinute, recall.HumanDuration(s.cfg.PauseFor, s.cfg.Locale)))
	}
	if skipped := ids[n:]; len(skipped) > 0 {
		s.log.Warn("automatic recall skipped: paused", zap.String("rule", rule), zap.Int("messages", len(skipped)))
		_, _ = s.led.AppendAudit(ctx, ledger.AuditRecord{At: now, Actor: "rule:" + rule, Action: "auto_recall",
			About: recall.Selection{IDs: skipped}.About(), Why: "breaker_open", Allowed: false, Note: reason})
		for _, id := range skipped {
			s.reschedule(ctx, id, time.Time{})
		}
	}
	if n == 0 {
		return nil
	}
	r, err := s.engine.Recall(ctx, recall.Request{Selection: recall.Selection{IDs: ids[:n]}, Actor: "rule:" + rule, Action: "auto_recall", Note: reason})
	if err != nil {
		s.log.Error("automatic recall failed", zap.String("rule", rule), zap.Error(err))
		return nil
	}
	s.log.Warn("automatic recall", zap.String("rule", rule), zap.String("reason", reason), zap.String("receipt", r.Summary("en")))
	if r.Count(recall.Recalled)+r.Count(recall.Failed)+r.Count(recall.TooOld) > 0 {
		report := s.say("incident", rule, recall.FindingIn(reason, s.cfg.Locale), r.Summary(s.cfg.Locale), r.AuditID)
		if rule == RuleSecrets { // a recall hides it, it does not unshare it
			report += s.say("rotate")
		}
		s.notify(ctx, report)
	}
	return r
}

// notify sends one report to every admin's 1:1 chat with the bot. A
// report is the bot talking to its admins, like a reply to a command
// (OriginCommand): "/recall last 3" in that chat never picks it.
func (s *Service) notify(ctx context.Context, text string) {
	for _, a := range s.cfg.Admins {
		_, err := s.sender.Send(context.WithoutCancel(ctx), ledger.Chat{Family: ledger.OTO, UserID: a}, dingtalk.Markdown("recallbot", text),
			recall.SendOptions{Origin: ledger.OriginCommand, Actor: "autorecall", NoGuard: true})
		if err != nil {
			s.log.Error("admin not told about an automatic recall", zap.String("admin", a), zap.Error(err))
		}
	}
}

// Paused reports whether the breaker has paused automatic recall.
func (s *Service) Paused() bool { return s.breaker.paused(s.cfg.Now()) }

// Resume closes a tripped breaker before its pause ends.
func (s *Service) Resume() { s.breaker.reset() }

// breaker counts automatic recalls in a sliding minute.
type breaker struct {
	mu          sync.Mutex
	max         int
	pause       time.Duration
	times       []time.Time // one per recalled message in the last minute
	pausedUntil time.Time
}

// allow records up to n recalls at now and returns how many may go ahead
// (the first of them), and whether this call tripped the breaker: it
// trips when the recalls of the last minute would pass the limit.
func (b *breaker) allow(now time.Time, n int) (allowed int, tripped bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.pausedUntil) {
		return 0, false
	}
	cut := 0
	for cut < len(b.times) && now.Sub(b.times[cut]) >= time.Minute {
		cut++
	}
	b.times = b.times[cut:]
	allowed = min(n, max(b.max-len(b.times), 0))
	for range allowed {
		b.times = append(b.times, now)
	}
	if allowed < n {
		b.pausedUntil = now.Add(b.pause)
		b.times = nil
		return allowed, true
	}
	return allowed, false
}

func (b *breaker) paused(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return now.Before(b.pausedUntil)
}

func (b *breaker) reset() {
	b.mu.Lock()
	b.pausedUntil, b.times = time.Time{}, nil
	b.mu.Unlock()
}

var texts = map[string][2]string{
	"incident": {"🛡 **自动撤回**：规则 %s 发现问题（%s），已处理：%s（审计 #%d）",
		"🛡 **Automatic recall**: rule %s found %s; %s (audit #%d)"},
	"paused": {"⚠️ **自动撤回已暂停**：一分钟内超过 %d 条。暂停 %s，期间只记录不撤回。请检查规则。",
		"⚠️ **Automatic recall paused**: more than %d in a minute. Paused for %s: rules only log meanwhile. Please check the rules."},
	"expiry.failed": {"⏰ 到期自动撤回未完成：%s（审计 #%d）", "⏰ Self-destruct did not complete: %s (audit #%d)"},
	"rotate": {"\n\n撤回只是让消息从会话中消失，无法抹去已被读到、复制或截图的内容：请把这个密钥当作已泄露，立即更换（轮换）它。",
		"\n\nA recall only takes the message out of the chat; it cannot undo what someone already read, copied or screenshotted. Treat the secret as leaked and rotate it now."},
}

func (s *Service) say(key string, args ...any) string {
	t := texts[key]
	if s.cfg.Locale == "en" {
		return fmt.Sprintf(t[1], args...)
	}
	return fmt.Sprintf(t[0], args...)
}
