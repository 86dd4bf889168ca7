package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
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
	"github.com/recallbot/recallbot/recall"
	"github.com/recallbot/recallbot/stream"
)

// App is the running bot: every component, opened in dependency order and
// closed in reverse (WTF Dial's Main). Fields are set by Open.
type App struct {
	Config config.Config
	Log    *zap.Logger
	// Now is the clock of the sender, the engine and the bot; default
	// time.Now (the demo shares a fake one with the emulator).
	Now func() time.Time

	Ledger      ledger.Store
	Spool       *ledger.Spool
	redis       *ledger.Redis // the shared store, when ledger.redis_url is set
	Client      *dingtalk.Client
	Sender      *recall.Sender
	Engine      *recall.Engine
	Broadcaster *recall.Broadcaster
	Bot         *handlers.Bot
	// AutoRecall is nil when autorecall.enabled is false.
	AutoRecall *autorecall.Service
	Listener   *stream.Listener
	Metrics    *httpapi.Metrics
	API        *httpapi.API
	// Console is the operator's console at /ui/; nil when http.console is
	// false.
	Console *console.Console
	// Alerts brings chats in line with the alert groups (app_alerts.go).
	Alerts   *alerts.Reconciler
	alertsIn http.Handler // the webhook receiver

	httpServer *http.Server
	httpAddr   string
	httpCancel context.CancelFunc // cancels the HTTP handlers' contexts
	httpWork   sync.WaitGroup     // HTTP handlers running
	cancel     context.CancelFunc // stops the background loops
	bg         sync.WaitGroup     // the background loops
	jobs       sync.WaitGroup     // work requests started (goJob)
	jobsCtx    context.Context
	jobsCancel context.CancelFunc
	serving    sync.WaitGroup // the HTTP server's Serve
}

// New returns an App for cfg; Open starts it.
func New(cfg config.Config, log *zap.Logger) *App {
	return &App{Config: cfg, Log: log, Now: time.Now}
}

// HTTPAddr is the address the local HTTP API listens on, once open.
func (a *App) HTTPAddr() string { return a.httpAddr }

// Open opens the ledger and the spool (replaying what the spool holds),
// builds the client, sender, engine and bot, connects Stream and serves the
// HTTP API. On error, what was opened is closed.
func (a *App) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = a.Close(context.Background())
		}
	}()
	cfg := a.Config
	stream.RouteSDKLogs(a.Log)
	routeRedisLogs(a.Log)
	if err := a.openLedger(ctx); err != nil {
		return err
	}
	redactor := autorecall.NewRedactor(cfg.Secrets())
	a.Ledger = redactingLedger{Store: a.Ledger, redact: redactor.Redact, spool: a.Spool}
	a.Metrics = httpapi.NewMetrics(a.Ledger.Counts)
	a.Metrics.WatchSpool(a.Spool.Waiting, a.Spool.Held)
	dc := dingtalk.Config{BaseURL: cfg.DingTalk.APIBase, ClientID: cfg.DingTalk.ClientID, ClientSecret: cfg.DingTalk.ClientSecret,
		RobotCode: cfg.DingTalk.RobotCode, CoolAppCode: cfg.DingTalk.CoolAppCode, Timeout: cfg.DingTalk.Timeout, QPS: cfg.DingTalk.QPS}
	dc.GroupCoolAppCode = cfg.DingTalk.GroupCoolAppCode
	if a.redis != nil { // instances sharing a Redis ledger share the app's quota too
		dc.Slots = a.redis.Slots(cfg.DingTalk.ClientID, dingtalk.PaceQPS(cfg.DingTalk.QPS), dingtalk.PaceBurst(cfg.DingTalk.QPS))
	}
	a.Client = dingtalk.New(dc, nil)
	a.Client.OnCall = a.Metrics.APICall
	if err := a.checkCredentials(ctx); err != nil {
		return err
	}
	a.Sender = recall.NewSender(a.Ledger, a.Client, a.Log, recall.SenderConfig{Window: cfg.Recall.Window, Redact: redactor.Redact, Now: a.Now})
	a.Sender.OnSend = a.Metrics.Sent
	a.Sender.UseSpool(a.Spool)
	if err := a.Sender.ReplaySpool(ctx); err != nil {
		a.Log.Error("spool not fully replayed at start", zap.String("spool", a.Spool.Path()), zap.Error(err))
	}
	a.adoptLegacySpool(ctx)
	owner := recall.NewOwner() // one name for this process's claims and broadcasts
	a.Engine = recall.New(a.Ledger, a.Client, a.Log, recall.Config{Window: cfg.Recall.Window, Locale: cfg.Locale, Owner: owner, Now: a.Now})
	a.Engine.OnOutcome = func(o recall.Outcome, n int) { a.Metrics.Outcome(string(o), n) }
	a.Broadcaster = recall.NewBroadcaster(a.Ledger, a.Client, a.Log, recall.BroadcastConfig{Window: cfg.Recall.Window, Owner: owner, Redact: redactor.Redact, Now: a.Now})
	a.Broadcaster.UseSpool(a.Spool)
	if cfg.AutoRecall.Enabled {
		ac := cfg.AutoRecall
		a.AutoRecall, err = autorecall.New(autorecall.Config{Rules: ac.RulesInForce(), MaxPerMinute: ac.MaxPerMinute, PauseFor: ac.PauseFor,
			DuplicateWindow: ac.DuplicateWindow, OwnSecrets: cfg.Secrets(), Admins: cfg.Admins, Locale: cfg.Locale, Now: a.Now},
			a.Ledger, a.Sender, a.Engine, a.Log, a.Metrics)
		if err != nil {
			return err
		}
		a.Sender.SetGuard(a.AutoRecall)
		a.Broadcaster.SetGuard(a.AutoRecall)
	}
	a.Bot = handlers.NewBot(handlers.Config{Admins: cfg.Admins, Locale: cfg.Locale, MaxLast: cfg.Recall.MaxLast,
		ConfirmAbove: cfg.Recall.ConfirmAbove, ConfirmTTL: cfg.Recall.ConfirmTTL, Window: cfg.Recall.Window, Redact: redactor.Redact, Now: a.Now,
		ReadsUpTo: cfg.Recall.ReadStatusUpTo, QPS: cfg.DingTalk.QPS, CommandBurst: commandBurst(cfg.Commands), CommandEvery: cfg.Commands.Every,
		Responders: cfg.Alerts.Responders},
		a.Ledger, a.Sender, a.Engine, a.Log, a.Metrics)
	a.openAlerts(owner, redactor.Redact)
	a.Listener = stream.NewListener(stream.Config{ClientID: cfg.DingTalk.ClientID, ClientSecret: cfg.DingTalk.ClientSecret,
		APIBase: cfg.DingTalk.APIBase, KeepAlive: cfg.DingTalk.KeepAlive, OnMalformed: a.auditMalformed,
		Urgent: func(m stream.Message) bool { return a.Bot.Urgent(handlers.Message(m)) }},
		func(ctx context.Context, m stream.Message) { a.Bot.Handle(ctx, handlers.Message(m)) }, a.Log)
	a.Bot.SetConnected(a.Listener.Connected)
	a.Metrics.WatchConnected(a.Listener.Connected)

	bg, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.jobsCtx, a.jobsCancel = context.WithCancel(context.Background())
	if cfg.HTTP.Listen != "" {
		if err := a.serveHTTP(); err != nil {
			return err
		}
	}
	a.loop(func() {
		ledger.Retention{Age: cfg.Ledger.Retention, Now: a.Now}.Run(bg, a.Ledger, a.Log.Named("ledger"))
	})
	a.loop(func() { a.resumeLoop(bg) })
	a.loop(func() { a.housekeeping(bg) })
	a.loop(func() { a.Sender.WatchWrites(bg) }) // readiness comes back with the ledger, without traffic
	a.loop(func() { a.Broadcaster.Run(bg) })
	a.loop(func() { a.Alerts.Run(bg) })
	if a.AutoRecall != nil {
		a.loop(func() { a.AutoRecall.RunDue(bg, cfg.AutoRecall.SelfDestructEvery) })
	}
	if err := a.startListener(ctx); err != nil {
		return err
	}
	a.Log.Info("recallbot running", zap.String("api_base", cfg.DingTalk.APIBase), zap.String("http", a.httpAddr), zap.Int("admins", len(cfg.Admins)))
	return nil
}

// openLedger opens the configured store and the spool. It sets a.Ledger
// only to a store that opened: a failed Open must leave nothing for Close
// to close (a typed nil in the interface would panic there).
func (a *App) openLedger(ctx context.Context) error {
	c := a.Config.Ledger
	if c.RedisURL != "" {
		s, err := ledger.OpenRedis(ctx, c.RedisURL, ledger.RedisOptions{Prefix: c.RedisPrefix, MinReplicas: c.MinReplicas, ReplicaTimeout: c.ReplicaTimeout})
		if err != nil {
			return err
		}
		a.Ledger, a.redis = s, s
	} else {
		s, err := ledger.Open(c.Path, ledger.BoltOptions{})
		if err != nil {
			return err
		}
		a.Ledger = s
	}
	sp, err := ledger.OpenSpool(c.SpoolPath())
	if err != nil {
		return err
	}
	a.Spool = sp
	return nil
}

// commandBurst is the handlers' burst for the configured budget: the
// config's 0 (off) is the handlers' negative.
func commandBurst(c config.Commands) int {
	if c.Burst == 0 {
		return -1
	}
	return c.Burst
}

// goJob runs f on the jobs' context: Close lets such work finish within
// its grace (an asynchronous recall), then cancels it.
func (a *App) goJob(f func(context.Context)) {
	a.jobs.Add(1)
	go func() {
		defer a.jobs.Done()
		f(a.jobsCtx)
	}()
}

// loop runs fn in a background goroutine that Close waits for.
func (a *App) loop(fn func()) {
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		fn()
	}()
}

// maxHeaderBytes bounds a request's line and headers; larger ones are
// refused (431) before any handler runs. net/http allows 4 KiB on top of
// the setting, so 12 KiB here refuses what is over 16 KiB.
const maxHeaderBytes = 12 << 10

func (a *App) serveHTTP() error {
	a.API = &httpapi.API{Token: a.Config.HTTP.Token, Ledger: a.Ledger, Sender: a.Sender, Engine: a.Engine, Broadcaster: a.Broadcaster,
		Log: a.Log.Named("http"), Metrics: a.Metrics, Ready: a.Listener.Connected, Locale: a.Config.Locale, AutoRecall: a.AutoRecall, Now: a.Now, QPS: a.Config.DingTalk.QPS,
		Go: a.goJob, Alerts: a.alertsIn}
	if c := a.Config; c.HTTP.Console {
		// The console acts through the API's own handler, built before the
		// console is mounted on the one the server serves.
		a.Console = console.New(console.Config{Token: c.HTTP.Token, API: a.API.Handler(), Ledger: a.Ledger, Refused: a.API.Refused,
			Log: a.Log.Named("console"), Locale: c.Locale, ConfirmAbove: c.Recall.ConfirmAbove, ConfirmTTL: c.Recall.ConfirmTTL,
			Window: c.Recall.Window, FailedLoginsPerMinute: c.HTTP.FailedLoginsPerMinute, Now: a.Now})
		a.API.UI = a.Console
	}
	ln, err := net.Listen("tcp", a.Config.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	a.httpAddr = ln.Addr().String()
	base, cancel := context.WithCancel(context.Background())
	a.httpCancel = cancel
	h := a.API.Handler()
	a.httpServer = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.httpWork.Add(1)
			defer a.httpWork.Done()
			h.ServeHTTP(w, r)
		}),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if a.Console != nil { // a browser following a recall must not hold up a shutdown
		a.httpServer.RegisterOnShutdown(a.Console.Shutdown)
	}
	a.serving.Add(1)
	go func() {
		defer a.serving.Done()
		if err := a.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("http server stopped", zap.Error(err))
		}
	}()
	return nil
}

// resumeLoop takes over recalls a stopped bot left unfinished, at start and
// then every minute (a claim lapses 30 s after its owner stops renewing;
// with the embedded ledger, a restart finds its leases gone at once).
func (a *App) resumeLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		r, err := a.Engine.Resume(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.Log.Warn("resuming interrupted recalls", zap.Error(err))
		case r != nil:
			a.Log.Info("resumed interrupted recalls", zap.String("receipt", r.Summary("en")))
		}
		if a.API != nil { // asynchronous recalls whose instance stopped, finished as themselves
			a.API.ResumeRecalls(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// housekeeping replays the spool into the ledger every two seconds while
// it holds keys, writes the per-minute summaries of refused HTTP requests,
// of commands over the budget and of logins over the console's budget,
// and every minute closes pending sends older than the recall window as
// unknown.
func (a *App) housekeeping(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	var lastClose time.Time
	var replayErr string
	for {
		if err := a.Sender.ReplaySpool(ctx); err != nil && ctx.Err() == nil {
			if err.Error() != replayErr { // log a failure when it changes, not every tick
				a.Log.Warn("spool not replayed yet", zap.Int("waiting", a.Spool.Waiting()), zap.Error(err))
			}
			replayErr = err.Error()
		} else {
			replayErr = ""
		}
		if a.API != nil {
			a.API.FlushDenied(ctx)
		}
		a.Bot.FlushRefused(ctx)
		if a.Console != nil {
			a.Console.FlushRefused(ctx)
		}
		if time.Since(lastClose) >= time.Minute {
			lastClose = time.Now()
			if _, err := a.Sender.CloseStale(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("closing stale pending sends", zap.Error(err))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// closeHardLimit bounds how long Close waits, after ctx ended and the work
// was cancelled, for it to return before the ledger is closed anyway. A
// cancelled send still records a key it already has (the ledger, then the
// spool, in at most the sender's RecordFor).
const closeHardLimit = 10 * time.Second

// Close shuts down in reverse order of intake, under ctx's deadline: it
// stops both intakes at once (Stream and HTTP: no new commands, no new
// requests) and the background loops, waits for what is running to
// finish, and when ctx ends cancels it and waits for it to return. Only
// then does it close the spool and the ledger, so a send that got its key
// records it.
func (a *App) Close(ctx context.Context) error {
	var mu sync.Mutex
	var errs []error
	note := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	if a.cancel != nil {
		a.cancel()
	}
	var drain sync.WaitGroup
	if a.Listener != nil {
		drain.Add(1)
		go func() { defer drain.Done(); note(a.Listener.Stop(ctx)) }()
	}
	if a.httpServer != nil {
		drain.Add(1)
		go func() {
			defer drain.Done()
			if err := a.httpServer.Shutdown(ctx); err != nil {
				note(fmt.Errorf("http: requests cut short: %w", err))
			}
			a.httpCancel()
			waitGroup(&a.httpWork, closeHardLimit, func() { note(errors.New("http: requests still running; closing the ledger under them")) })
		}()
	}
	drain.Wait()
	// Work a request started to outlive it (an asynchronous recall) has
	// what is left of the grace to finish: cut short, it leaves messages
	// recalled in the chat but reported failed until the next recall.
	jobsDone := make(chan struct{})
	go func() { a.jobs.Wait(); close(jobsDone) }()
	select {
	case <-jobsDone:
	case <-ctx.Done():
	}
	if a.jobsCancel != nil {
		a.jobsCancel()
	}
	waitGroup(&a.jobs, closeHardLimit, func() { note(errors.New("recalls still running; closing the ledger under them")) })
	waitGroup(&a.bg, closeHardLimit, func() { note(errors.New("background work still running; closing the ledger under it")) })
	a.serving.Wait()
	if a.Spool.Held() > 0 { // a last chance for keys only in memory
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		note(a.Sender.ReplaySpool(rctx))
		cancel()
	}
	if a.Spool != nil {
		note(a.Spool.Close())
	}
	if a.Ledger != nil {
		note(a.Ledger.Close())
	}
	return errors.Join(errs...)
}

// waitGroup waits for wg, at most d; if that is not enough it calls late and
// returns.
func waitGroup(wg *sync.WaitGroup, d time.Duration, late func()) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		late()
	}
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
	if _, aerr := a.Ledger.AppendAudit(ctx, ledger.AuditRecord{At: a.Now(), Actor: "stream", Action: "malformed_frame",
		Scope: "frame " + messageID, Note: msg}); aerr != nil {
		a.Log.Error("malformed frame not audited", zap.Error(aerr))
	}
}

// redactingLedger passes every audit record through the redactor on its
// way into the ledger: whatever a stranger or an admin typed (a token, a
// secret pasted into a command) is never written down.
//
// An audit record the ledger cannot take (it is down) goes to the spool
// and reaches the ledger with the keys waiting there: an attempt made
// during an outage, a denied one above all, is audited all the same.
type redactingLedger struct {
	ledger.Store
	redact func(string) string
	spool  *ledger.Spool
}

func (l redactingLedger) AppendAudit(ctx context.Context, r ledger.AuditRecord) (ledger.AuditRecord, error) {
	r.Actor, r.Scope, r.Note = l.redact(r.Actor), l.redact(r.Scope), l.redact(r.Note)
	if len(r.Outcomes) > 0 {
		out := make(map[string]string, len(r.Outcomes))
		for k, v := range r.Outcomes {
			rk := l.redact(k)
			if _, dup := out[rk]; dup || rk != k && rk == autorecall.Redacted {
				rk = fmt.Sprintf("%s#%d", autorecall.Redacted, len(out)+1)
			}
			out[rk] = l.redact(v)
		}
		r.Outcomes = out
	}
	rec, err := l.Store.AppendAudit(ctx, r)
	if err == nil || l.spool == nil {
		return rec, err
	}
	if serr := l.spool.Add(ledger.SpoolRecord{Seq: l.spool.NextSeq(), Audit: &r}); serr != nil {
		return rec, errors.Join(err, serr)
	}
	return r, nil
}
