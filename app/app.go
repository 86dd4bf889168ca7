// Package app is the running bot: Open builds every component with what
// it needs (the ledger, the DingTalk client, the sender, the engine, the
// commands, the HTTP API, the Stream listener), starts the long-running
// parts, and Close stops them in the reverse order (WTF Dial's Main).
package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/console"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/handlers"
	"github.com/recallbot/recallbot/httpapi"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
	"github.com/recallbot/recallbot/stream"
)

// App is the running bot. Its components are set by Open, each built with
// everything it needs; the demo and the tests reach them here.
type App struct {
	Config config.Config
	Log    *zap.Logger
	// Build is what the binary was built from; the log, /readyz, the
	// console and the metrics say it.
	Build Build

	Ledger      ledger.Store
	Spool       *ledger.Spool
	Client      *dingtalk.Client
	Sender      *recall.Sender
	Engine      *recall.Engine
	Broadcaster *recall.Broadcaster
	Bot         *handlers.Bot
	// AutoRecall is nil when autorecall.enabled is false.
	AutoRecall *autorecall.Service
	Listener   *stream.Listener
	Metrics    *httpapi.Metrics
	// Operator carries out the operator's actions for the HTTP API and
	// the console; nil when http.listen is empty, as API is.
	Operator *operator.Operator
	API      *httpapi.API
	// Console is the operator's console at /ui/; nil when http.console is
	// false.
	Console *console.Console
	// Alerts brings chats in line with the alert groups (alerts.go).
	Alerts *alerts.Reconciler

	now     func() time.Time
	http    *server  // the HTTP API's server; nil when http.listen is empty
	closers []closer // what Open started, undone by Close last first
}

// Options are what a program running the bot may change; the zero value
// is the default.
type Options struct {
	// Now is the clock of every component; default time.Now. The demo
	// shares a clock it moves with the emulator.
	Now func() time.Time
	// Version is the version stamped at build time, or "" (see Build).
	Version string
}

// New returns an App for cfg; Open starts it.
func New(cfg config.Config, log *zap.Logger, o Options) *App {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &App{Config: cfg, Log: log, now: o.Now, Build: ReadBuild(o.Version)}
}

// HTTPAddr is the address the local HTTP API listens on, once open.
func (a *App) HTTPAddr() string {
	if a.http == nil {
		return ""
	}
	return a.http.addr()
}

// Open opens the ledger and the spool (replaying what the spool holds),
// builds every component with what it needs, serves the HTTP API, starts
// the background work and connects Stream. Each step that starts
// something says how it is stopped (onClose), so the shutdown order is
// the reverse of this function. On error, what was opened is closed.
func (a *App) Open(ctx context.Context) (err error) {
	var stopRedisLogs func()
	defer func() {
		if err != nil {
			_ = a.Close(context.Background())
			// A Redis client that was closed may still finish a dial in
			// the background and complain; after a failed start that
			// line would come after, and bury, the reason.
			if stopRedisLogs != nil {
				stopRedisLogs()
			}
		}
	}()
	cfg := a.Config
	stream.RouteSDKLogs(a.Log)
	stopRedisLogs = routeRedisLogs(a.Log)
	shared, err := a.openLedger(ctx)
	if err != nil {
		return err
	}
	redactor := autorecall.NewRedactor(cfg.Secrets())
	a.Ledger = ledger.Redacting(a.Ledger, ledger.Redaction{Redact: redactor.Redact, Placeholder: autorecall.Redacted}, a.Spool)
	conn := new(stream.Status) // kept by the listener, read by readiness, /status and the metrics
	a.Metrics = httpapi.NewMetrics(httpapi.MetricsConfig{LedgerCounts: a.Ledger.Counts, Connected: conn.Connected,
		SpoolWaiting: a.Spool.Waiting, SpoolHeld: a.Spool.Held, Version: a.Build.Version, Revision: a.Build.Revision})
	a.Client = dingtalk.New(a.clientConfig(shared), nil)
	if err := a.checkCredentials(ctx); err != nil {
		return err
	}

	a.Sender = recall.NewSender(a.Ledger, a.Client, a.Log, recall.SenderConfig{Window: cfg.Recall.Window, Redact: redactor.Redact,
		Spool: a.Spool, OnSend: a.Metrics.Sent, Now: a.now})
	if err := a.Sender.ReplaySpool(ctx); err != nil {
		a.Log.Error("spool not fully replayed at start", zap.String("spool", a.Spool.Path()), zap.Error(err))
	}
	a.onClose(a.replayHeld)
	a.adoptLegacySpool(ctx)
	owner := recall.NewOwner() // one name for this process's claims and broadcasts
	a.Engine = recall.New(a.Ledger, a.Client, a.Log, recall.Config{Window: cfg.Recall.Window, Locale: cfg.Locale, Owner: owner, Now: a.now,
		Concurrency: cfg.DingTalk.InFlight,
		OnOutcome:   func(o recall.Outcome, n int) { a.Metrics.Outcome(string(o), n) }})
	var guard recall.Guard
	if cfg.AutoRecall.Enabled {
		ac := cfg.AutoRecall
		a.AutoRecall, err = autorecall.New(autorecall.Config{Rules: ac.RulesInForce(), MaxPerMinute: ac.MaxPerMinute, PauseFor: ac.PauseFor,
			DuplicateWindow: ac.DuplicateWindow, OwnSecrets: cfg.Secrets(), Admins: cfg.Admins, Locale: cfg.Locale,
			DueEvery: ac.SelfDestructEvery, Now: a.now},
			a.Ledger, a.Sender, a.Engine, a.Log, a.Metrics)
		if err != nil {
			return err
		}
		guard = a.AutoRecall
		a.Sender = a.Sender.WithGuard(guard) // every send the app makes passes the rules
	}
	a.Broadcaster = recall.NewBroadcaster(a.Ledger, a.Client, a.Log, recall.BroadcastConfig{Window: cfg.Recall.Window, Owner: owner, Concurrency: cfg.DingTalk.InFlight,
		Redact: redactor.Redact, Guard: guard, Spool: a.Spool, Now: a.now})
	receiver, actions := a.buildAlerts(owner, redactor.Redact)
	a.Bot = handlers.NewBot(handlers.Config{Admins: cfg.Admins, Locale: cfg.Locale, MaxLast: cfg.Recall.MaxLast,
		ConfirmAbove: cfg.Recall.ConfirmAbove, ConfirmTTL: cfg.Recall.ConfirmTTL, Window: cfg.Recall.Window, Redact: redactor.Redact, Now: a.now,
		ReadsUpTo: cfg.Recall.ReadStatusUpTo, QPS: cfg.DingTalk.QPS, CommandBurst: commandBurst(cfg.Commands), CommandEvery: cfg.Commands.Every,
		CrowdBurst: cfg.Commands.CrowdBurst, CrowdEvery: cfg.Commands.CrowdEvery,
		Responders: cfg.Alerts.Responders, Connected: conn.Connected, Version: a.Build.String(), Alerts: actions, AlertStatus: a.Alerts.Status},
		a.Ledger, a.Sender, a.Engine, a.Log, a.Metrics)
	a.Listener = stream.NewListener(stream.Config{ClientID: cfg.DingTalk.ClientID, ClientSecret: cfg.DingTalk.ClientSecret,
		APIBase: cfg.DingTalk.APIBase, KeepAlive: cfg.DingTalk.KeepAlive, OnMalformed: a.auditMalformed, Status: conn,
		Urgent: func(m stream.Message) bool { return a.Bot.Urgent(handlers.Message(m)) }},
		func(ctx context.Context, m stream.Message) { a.Bot.Handle(ctx, handlers.Message(m)) }, a.Log)

	// The long-running parts, stopped in the reverse order. The background
	// work is told to stop first. Both intakes then stop at once (no new
	// command, no new request) and finish what they run. The recalls
	// requests started to outlive them get what is left of the grace. The
	// background work is waited for. Only then are the spool and the
	// ledger closed, so that a send that got its key records it.
	loops := newGroup(a.Log)
	a.onClose(func(context.Context) error {
		return loops.wait("background work still running; closing the ledger under it")
	})
	jobs := newGroup(a.Log)
	a.onClose(func(ctx context.Context) error {
		return jobs.drain(ctx, "recalls still running; closing the ledger under them")
	})
	if cfg.HTTP.Listen != "" {
		if err := a.serveHTTP(jobs, receiver); err != nil {
			return err
		}
	}
	a.onClose(a.stopIntake)
	a.runLoops(loops)
	a.onClose(func(context.Context) error { loops.stop(); return nil })
	if err := a.startListener(ctx); err != nil {
		return err
	}
	a.Log.Info("recallbot running", a.runningFields()...)
	return nil
}

// runLoops starts the background work, each part on its owner: the
// retention prune, resuming recalls a stopped bot left, the sender's
// spool replays and stale sends, broadcasts, alerts, the due list of
// automatic recalls, and the per-minute summaries of refused commands,
// requests and logins.
func (a *App) runLoops(g *group) {
	g.Go("retention", func(ctx context.Context) error {
		ledger.Retention{Age: a.Config.Ledger.Retention, Now: a.now}.Run(ctx, a.Ledger, a.Log.Named("ledger"))
		return nil
	})
	g.Go("resume", a.Engine.Run)
	g.Go("sender", a.Sender.Run)
	g.Go("broadcasts", a.Broadcaster.Run)
	g.Go("alerts", a.Alerts.Run)
	g.Go("commands", a.Bot.Run)
	if a.AutoRecall != nil {
		g.Go("autorecall", a.AutoRecall.Run)
	}
	if a.API != nil {
		g.Go("http", a.API.Run)
		g.Go("async recalls", a.Operator.Run) // resumes those whose instance stopped, as themselves
	}
	if a.Console != nil {
		g.Go("console", a.Console.Run)
	}
}

// clientConfig is the DingTalk client's configuration. Instances sharing
// a Redis ledger (shared, else nil) share the app's quota too.
func (a *App) clientConfig(shared *ledger.Redis) dingtalk.Config {
	d := a.Config.DingTalk
	dc := dingtalk.Config{BaseURL: d.APIBase, ClientID: d.ClientID, ClientSecret: d.ClientSecret, RobotCode: d.RobotCode,
		CoolAppCode: d.CoolAppCode, GroupCoolAppCode: d.GroupCoolAppCode, Timeout: d.Timeout, QPS: d.QPS, OnCall: a.Metrics.APICall}
	q := &quotaWatch{log: a.Log, clientID: d.ClientID, now: a.now}
	dc.OnRateLimited = q.refused
	if shared != nil {
		calls, width, burst := dingtalk.PaceWindow(d.QPS)
		dc.Slots = shared.Slots(d.ClientID, calls, width, burst)
	}
	return dc
}

// openLedger opens the configured store and the spool; it returns the
// store when it is a shared Redis. It sets a.Ledger only to a store that
// opened: a failed Open must leave nothing for Close to close (a typed
// nil in the interface would panic there).
func (a *App) openLedger(ctx context.Context) (*ledger.Redis, error) {
	c := a.Config.Ledger
	var shared *ledger.Redis
	if c.RedisURL != "" {
		s, err := ledger.OpenRedis(ctx, c.RedisURL, ledger.RedisOptions{Prefix: c.RedisPrefix, MinReplicas: c.MinReplicas, ReplicaTimeout: c.ReplicaTimeout})
		if err != nil {
			return nil, err
		}
		a.Ledger, shared = s, s
	} else {
		s, err := ledger.Open(c.Path, ledger.BoltOptions{})
		if err != nil {
			return nil, err
		}
		a.Ledger = s
	}
	led := a.Ledger
	a.onClose(func(context.Context) error { return led.Close() })
	sp, err := ledger.OpenSpool(c.SpoolPath())
	if err != nil {
		return nil, err
	}
	a.Spool = sp
	a.onClose(func(context.Context) error { return sp.Close() })
	return shared, nil
}

// replayHeld gives keys held only in memory (the spool's disk failed too)
// a last chance to reach the ledger before it is closed.
func (a *App) replayHeld(context.Context) error {
	if a.Spool.Held() == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.Sender.ReplaySpool(ctx)
}

// commandBurst is the handlers' burst for the configured budget: the
// config's 0 (off) is the handlers' negative.
func commandBurst(c config.Commands) int {
	if c.Burst == 0 {
		return -1
	}
	return c.Burst
}

// serveHTTP builds the HTTP API (and the console, mounted on it) and
// serves it. Work a request starts to outlive it (an asynchronous recall)
// runs in jobs.
func (a *App) serveHTTP(jobs *group, receiver *alerts.Receiver) error {
	c := a.Config
	// The API's handlers and the console carry out the same operator
	// actions; work a request starts to outlive it runs in jobs.
	a.Operator = operator.New(a.Ledger, a.Sender, a.Engine, a.Broadcaster, jobs.goFunc("recall"), operator.Config{AutoRecall: a.AutoRecall,
		Ready: a.Listener.Connected, Locale: c.Locale, QPS: c.DingTalk.QPS, MaxLast: c.Recall.MaxLast, Window: c.Recall.Window, Version: a.Build.String(), Now: a.now, Log: a.Log.Named("http")})
	a.API = &httpapi.API{Token: c.HTTP.Token, Operator: a.Operator, Ledger: a.Ledger, Log: a.Log.Named("http"), Metrics: a.Metrics, Now: a.now,
		Alerts: receiver}
	var onShutdown func()
	if c.HTTP.Console {
		a.Console = console.New(console.Config{Token: c.HTTP.Token, Operator: a.Operator, Ledger: a.Ledger, Refused: a.API.Refused,
			Log: a.Log.Named("console"), Locale: c.Locale, ConfirmAbove: c.Recall.ConfirmAbove, ConfirmTTL: c.Recall.ConfirmTTL,
			Window: c.Recall.Window, FailedLoginsPerMinute: c.HTTP.FailedLoginsPerMinute, Now: a.now})
		a.API.UI = a.Console
		onShutdown = a.Console.Shutdown // a browser following a recall must not hold up a shutdown
	}
	s, err := listen(c.HTTP.Listen, a.API.Handler(), onShutdown, a.Log)
	if err != nil {
		return err
	}
	a.http = s
	return nil
}

// stopIntake stops both intakes at once, Stream and HTTP: no new commands,
// no new requests; each lets what it runs finish until ctx ends, then
// cancels it.
func (a *App) stopIntake(ctx context.Context) error {
	errs := make(chan error, 2)
	go func() { errs <- a.Listener.Stop(ctx) }()
	go func() {
		if a.http == nil {
			errs <- nil
			return
		}
		errs <- a.http.shutdown(ctx)
	}()
	return errors.Join(<-errs, <-errs)
}

// closer undoes one step of Open, within ctx's deadline.
type closer func(ctx context.Context) error

// onClose registers what undoes the step Open just took.
func (a *App) onClose(c closer) { a.closers = append(a.closers, c) }

// Close shuts down in reverse order of Open, under ctx's deadline (see
// Open): it stops the intakes, lets what runs finish, and when ctx ends
// cancels it and waits for it to return. Only then does it close the
// spool and the ledger. A second Close does nothing.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i](ctx))
	}
	a.closers = nil
	return errors.Join(errs...)
}

// auditMalformed audits a Stream frame recallbot could not read: it was
// ACKed and dropped, and an operator may want to know what DingTalk sent.
func (a *App) auditMalformed(messageID string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg := err.Error()
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	if _, aerr := a.Ledger.AppendAudit(ctx, ledger.AuditRecord{At: a.now(), Actor: "stream", Action: "malformed_frame",
		About: &ledger.AuditAbout{Frame: messageID}, Note: msg}); aerr != nil {
		a.Log.Error("malformed frame not audited", zap.Error(aerr))
	}
}
