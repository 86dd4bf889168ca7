package handlers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/patrickmn/go-cache"
	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/internal/budget"
	"github.com/recallbot/recallbot/internal/refusals"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// Message is a message a user sent the bot, free of the SDK's types.
type Message struct {
	MsgID            string
	ConversationID   string
	ConversationType string // "1" one-to-one, "2" group
	SenderStaffID    string
	SenderNick       string
	MsgType          string
	Text             string
	CreateAt         time.Time
	// ConversationTitle is a group's title, as DingTalk sends it with
	// each group message; "" in one-to-one chats.
	ConversationTitle string
}

// Config tunes the Bot; the zero value of each field is its default.
type Config struct {
	Admins []string
	// Locale is "zh" (default) or "en".
	Locale string
	// MaxLast caps N in "/recall last N"; default 100.
	MaxLast int
	// ConfirmAbove is the number of messages above which a recall needs
	// /confirm; default 10. Cross-chat recalls always do.
	ConfirmAbove int
	// ConfirmTTL is how long a confirmation code lives; default 2 minutes.
	ConfirmTTL time.Duration
	// Window is DingTalk's recall window, for previews; default 24 h.
	Window time.Duration
	// ReadsUpTo, when set, asks DingTalk who has read the messages of
	// every recall or preview of up to this many, as "reads" does for
	// one command. QPS is DingTalk's pace, to state what asking costs.
	ReadsUpTo int
	QPS       float64
	// Responders may silence and acknowledge alerts, besides the admins.
	Responders []string
	// DedupeTTL is how long a command's msgId is remembered; default 24 h
	// (DingTalk redelivers within minutes).
	DedupeTTL time.Duration
	// CommandBurst and CommandEvery are the command budget of each sender
	// who is not an admin: CommandBurst commands at once, then one more
	// every CommandEvery (see budget.go). Defaults 3 and 3 s; a negative
	// CommandBurst turns the budget off.
	CommandBurst int
	CommandEvery time.Duration
	// CrowdBurst and CrowdEvery are one budget shared by everyone who is
	// not an admin, taken after the sender's own: many people (or many
	// accounts) each within their own budget still cannot fill the
	// workers, the ledger and DingTalk's pace. Defaults 20 and 1 s; off
	// with the sender's budget.
	CrowdBurst int
	CrowdEvery time.Duration
	// Redact replaces secrets in a reply before it is sent (an admin who
	// pastes a secret into a command must not see it repeated to the
	// chat); nil sends replies as they are.
	Redact func(string) string
	// Connected reports whether Stream is connected, for /status; nil
	// reports it never is.
	Connected func() bool
	// Version is the running build, as `recallbot version` prints it, for
	// /status; "" leaves it out.
	Version string
	// Alerts carries out the alert verbs, and AlertStatus gives the line
	// /status adds about alerts ("" when there is nothing to say). Without
	// Alerts the alert verbs answer that the bot does not handle alerts.
	Alerts      AlertActions
	AlertStatus func(locale string) string
	// FlushEvery is how often Run writes the summary of a finished
	// minute's commands over the budget; default 2 s.
	FlushEvery time.Duration
	Now        func() time.Time
}

func (c *Config) setDefaults() {
	if c.Locale == "" {
		c.Locale = "zh"
	}
	if c.MaxLast <= 0 {
		c.MaxLast = 100
	}
	if c.ConfirmAbove <= 0 {
		c.ConfirmAbove = 10
	}
	if c.ConfirmTTL <= 0 {
		c.ConfirmTTL = 2 * time.Minute
	}
	if c.Window <= 0 {
		c.Window = 24 * time.Hour
	}
	if c.DedupeTTL <= 0 {
		c.DedupeTTL = 24 * time.Hour
	}
	if c.CommandBurst == 0 {
		c.CommandBurst = defaultCommandBurst
	}
	if c.CommandEvery <= 0 {
		c.CommandEvery = defaultCommandEvery
	}
	if c.CrowdBurst <= 0 {
		c.CrowdBurst = defaultCrowdBurst
	}
	if c.CrowdEvery <= 0 {
		c.CrowdEvery = defaultCrowdEvery
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Redact == nil {
		c.Redact = func(s string) string { return s }
	}
	if c.Connected == nil {
		c.Connected = func() bool { return false }
	}
	if c.FlushEvery <= 0 {
		c.FlushEvery = 2 * time.Second
	}
}

// Ledger is what the Bot needs of the ledger: to run each command once
// and keep confirmation codes (TempStore), find the chat a message came
// from and list what it sent (EntryLister), and read and write the audit
// trail (AuditStore).
type Ledger interface {
	ledger.TempStore
	ledger.EntryLister
	ledger.AuditStore
	ledger.ChatStore
}

// Bot runs chat commands: parse, authorize, dispatch, reply.
type Bot struct {
	cfg     Config
	led     Ledger
	sender  *recall.Sender
	engine  *recall.Engine
	log     *zap.Logger
	metrics Metrics
	seen    *cache.Cache // a local front for the ledger's command dedupe
	handled atomic.Int64
	verbs   map[Verb]func(context.Context, *request) (string, error)
	budget  *budget.Keyed    // each non-admin's commands; nil when off
	crowd   *budget.Bucket   // all non-admins' commands together; nil when off
	over    refusals.Counter // commands over the budget, per minute
}

// Metrics counts commands (httpapi.Metrics implements it).
type Metrics interface {
	Command(verb, outcome string, took time.Duration)
}

type noMetrics struct{}

func (noMetrics) Command(string, string, time.Duration) {}

// NewBot returns a Bot. metrics may be nil.
func NewBot(cfg Config, led Ledger, sender *recall.Sender, engine *recall.Engine, log *zap.Logger, metrics Metrics) *Bot {
	if metrics == nil {
		metrics = noMetrics{}
	}
	cfg.setDefaults()
	b := &Bot{cfg: cfg, led: led, sender: sender, engine: engine, log: log.Named("bot"), metrics: metrics,
		seen: cache.New(10*time.Minute, 0), budget: newBudget(cfg), crowd: newCrowd(cfg)}
	b.verbs = map[Verb]func(context.Context, *request) (string, error){
		VerbHelp:    b.help,
		VerbRecall:  b.recall,
		VerbConfirm: b.confirm,
		VerbSent:    b.sent,
		VerbAudit:   b.audit,
		VerbStatus:  b.statusReply,
	}
	b.addAlertVerbs()
	return b
}

// request is one command being handled.
type request struct {
	msg      Message
	cmd      Command
	parseErr error
	chat     ledger.Chat // the chat the command was typed in
	once     *runOnce    // the record that makes it run once
	log      *zap.Logger
}

func (b *Bot) isAdmin(staffID string) bool {
	return staffID != "" && slices.Contains(b.cfg.Admins, staffID)
}

// adminOnly verbs need an admin.
var adminOnly = map[Verb]bool{VerbRecall: true, VerbConfirm: true, VerbAudit: true}

// Handle runs one message: once per msgId, however often DingTalk delivers
// it, on this instance or another sharing the ledger, before or after a
// restart (see runOnce).
func (b *Bot) Handle(ctx context.Context, m Message) {
	start := b.cfg.Now()
	log := b.log.With(zap.String("msg_id", m.MsgID), zap.String("sender", m.SenderStaffID), zap.String("conversation", m.ConversationID))
	req := &request{msg: m, log: log, once: &runOnce{b: b, id: m.MsgID}}
	if req.once.seen() {
		req.once.duplicate()
		return
	}
	if !b.withinBudget(ctx, req) {
		return
	}
	if !b.isAdmin(m.SenderStaffID) { // its replies never take a pace slot ahead of an admin's work
		ctx = dingtalk.WithPriority(ctx, dingtalk.Bulk)
	}
	req.cmd, req.parseErr = parse(m)
	if !req.once.deferred(req) && !req.once.now(ctx, req) {
		return
	}
	req.chat = b.chatOf(ctx, m)
	b.noteChat(ctx, req)
	reply, verb, outcome := b.run(ctx, req, log)
	switch {
	case req.once.state == dup:
		return
	case outcome == "ledger_down": // neither run nor recorded: a retry may run it
	case !req.once.now(ctx, req): // commands that ended before their record (nothing to recall)
		return
	}
	if reply != "" && !b.reply(ctx, req, reply) {
		outcome = "reply_failed"
	}
	d := b.cfg.Now().Sub(start)
	b.metrics.Command(string(verb), outcome, d)
	log.Info("command handled", zap.String("verb", string(verb)), zap.String("outcome", outcome), zap.Duration("took", d))
}

// reply sends text to the chat the command came from, with secrets
// redacted. A reply goes out even while the ledger is down: its key then
// waits in the spool.
func (b *Bot) reply(ctx context.Context, req *request, text string) bool {
	_, err := b.sender.Send(ctx, req.chat, dingtalk.Markdown("recallbot", b.cfg.Redact(text)),
		recall.SendOptions{Origin: ledger.OriginCommand, Actor: req.msg.SenderStaffID, NoGuard: true, SpoolIfLedgerDown: true})
	if err != nil && !errors.Is(err, recall.ErrRecordDelayed) {
		req.log.Error("reply not sent", zap.Error(err))
		return false
	}
	return true
}

// parse reads a message as a command; non-text messages are errNotText.
func parse(m Message) (Command, error) {
	if m.MsgType != "" && m.MsgType != "text" {
		return Command{}, errNotText
	}
	return Parse(m.Text)
}

var errNotText = errors.New("not a text message")

// remember notes a msgId in the local front of the dedupe.
func (b *Bot) remember(msgID string) {
	b.seen.SetDefault(msgID, true)
	// No janitor goroutine (the Bot has no lifecycle to stop one): expired
	// ids are swept every thousand commands instead.
	if b.handled.Add(1)%1000 == 0 {
		b.seen.DeleteExpired()
	}
}

// run parses, authorizes and dispatches; it returns the reply. Whatever a
// user typed that comes back in the reply is escaped (md).
func (b *Bot) run(ctx context.Context, req *request, log *zap.Logger) (reply string, verb Verb, outcome string) {
	loc := b.cfg.Locale
	cmd, err := req.cmd, req.parseErr
	// An admin verb from someone who is not an admin is refused and
	// audited however it goes on: "/recall", "/recall last abc" too.
	if v, denied := b.denied(req); denied {
		b.auditDenied(ctx, req, log)
		if responderVerbs[v] {
			return say(loc, "alerts.denied"), v, "denied"
		}
		return say(loc, "denied"), v, "denied"
	}
	var ue *UsageError
	switch {
	case errors.Is(err, errNotText):
		return say(loc, "not.text"), "none", "not_text"
	case errors.Is(err, ErrNotACommand):
		return say(loc, "not.command"), "none", "not_command"
	case errors.As(err, &ue):
		return say(loc, "unknown", b.usageText(ue.In(loc))), "none", "usage"
	}
	reply, err = b.verbs[cmd.Verb](ctx, req)
	var se *recall.SelectionError
	switch {
	case err == nil:
		return reply, cmd.Verb, "ok"
	case errors.As(err, &ue):
		return say(loc, "unknown", b.usageText(ue.In(loc))), cmd.Verb, "usage"
	case errors.As(err, &se):
		return say(loc, "unknown", b.usageText(se.In(loc))), cmd.Verb, "usage"
	}
	log.Error("command failed", zap.String("verb", string(cmd.Verb)), zap.Error(err))
	if !b.ledgerUp(ctx) {
		return say(loc, "ledger.down"), cmd.Verb, "ledger_down"
	}
	return say(loc, "internal", md(req.msg.MsgID)), cmd.Verb, "error"
}

// ledgerUp reports whether the ledger answers a read.
func (b *Bot) ledgerUp(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := b.led.Counts(ctx)
	return err == nil
}

// denied reports whether req is an admin verb from someone who is not an
// admin, malformed or not ("/recall", "/recall last abc" too).
func (b *Bot) denied(req *request) (Verb, bool) {
	v := verbOf(commandWord(req.msg.Text))
	if responderVerbs[v] {
		return v, !b.mayRespond(req.msg.SenderStaffID) && !errors.Is(req.parseErr, errNotText)
	}
	return v, adminOnly[v] && !b.isAdmin(req.msg.SenderStaffID) && !errors.Is(req.parseErr, errNotText)
}

// maxAuditedText bounds how much of a refused command the audit keeps.
const maxAuditedText = 200

// auditDenied audits an admin verb from someone who is not an admin. It
// goes to the access trail, with the other refusals an outsider can
// cause, so that however many there are, the recall trail (/audit, GET
// /v1/audit, the console's audit page) still shows the recalls. Every
// such attempt that gets this far is written in full; how many can is
// bounded by the command budgets (each sender's and the crowd's).
func (b *Bot) auditDenied(ctx context.Context, req *request, log *zap.Logger) {
	b.auditRefused(ctx, req, log, ledger.TrailAccess, "not_admin")
}

// auditedText is what the audit keeps of a command's text.
func auditedText(text string) string {
	text = strings.TrimSpace(text)
	if len(text) > maxAuditedText {
		text = strings.ToValidUTF8(text[:maxAuditedText], "") + "…"
	}
	return text
}

// auditRefused audits a refused attempt in trail: what was typed, where,
// and why it was refused as a code (recall.AuditWords says it in words
// when the record is read).
func (b *Bot) auditRefused(ctx context.Context, req *request, log *zap.Logger, trail, why string) {
	text := auditedText(req.msg.Text)
	where := req.chat
	rec := ledger.AuditRecord{At: b.cfg.Now(), Actor: req.msg.SenderStaffID, Action: "denied",
		Scope: text, About: &ledger.AuditAbout{Chat: &where}, Why: why, Allowed: false, Trail: trail}
	if _, err := b.led.AppendAudit(ctx, rec); err != nil {
		log.Error("denied attempt not audited", zap.Error(err))
	}
	_, words := recall.AuditWords(ledger.AuditRecord{Why: why}, "en", nil)
	log.Warn("admin command refused: "+words, zap.String("command", b.cfg.Redact(text)))
}

// chatOf is the chat a message came from: a group, a person-to-person chat
// the bot has sent into through its cool app, or else the sender's 1:1 chat
// with the bot. While the ledger cannot be read, a one-to-one message is
// answered in the sender's 1:1 chat with the bot.
func (b *Bot) chatOf(ctx context.Context, m Message) ledger.Chat {
	if m.ConversationType == "2" {
		return ledger.Chat{Family: ledger.Group, ConversationID: m.ConversationID}
	}
	if m.ConversationID != "" {
		p := ledger.Chat{Family: ledger.Private, ConversationID: m.ConversationID}
		if es, err := b.led.List(ctx, ledger.Query{Chat: p, Limit: 1}); err == nil && len(es) > 0 {
			return p
		}
	}
	return ledger.Chat{Family: ledger.OTO, UserID: m.SenderStaffID, ConversationID: m.ConversationID}
}
