package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/handlers"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// App is the running bot: every component, opened in dependency order and
// closed in reverse (WTF Dial's Main). Fields are set by Open.
type App struct {
	Config Config
	Log    *zap.Logger
	// Now is the clock of the sender, the engine and the bot; default
	// time.Now (the demo shares a fake one with the emulator).
	Now func() time.Time

	Ledger ledger.Store
	Client *dingtalk.Client
	Sender *recall.Sender
	Engine *recall.Engine
	Bot    *handlers.Bot
	// AutoRecall is nil when autorecall.enabled is false.
	AutoRecall *autorecall.Service
	Listener   *handlers.Listener
	Metrics    *handlers.Metrics
	API        *handlers.API

	httpServer *http.Server
	httpAddr   string
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// NewApp returns an App for cfg; Open starts it.
func NewApp(cfg Config, log *zap.Logger) *App {
	return &App{Config: cfg, Log: log, Now: time.Now}
}

// HTTPAddr is the address the local HTTP API listens on, once open.
func (a *App) HTTPAddr() string { return a.httpAddr }

// Open opens the ledger, builds the client, sender, engine and bot,
// connects Stream and serves the HTTP API. On error, what was opened is
// closed.
func (a *App) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = a.Close(context.Background())
		}
	}()
	cfg := a.Config
	handlers.RouteSDKLogs(a.Log)
	if a.Ledger, err = openLedger(ctx, cfg.Ledger); err != nil {
		return err
	}
	a.Metrics = handlers.NewMetrics(a.Ledger.Counts)
	a.Client = dingtalk.New(dingtalk.Config{BaseURL: cfg.DingTalk.APIBase, ClientID: cfg.DingTalk.ClientID, ClientSecret: cfg.DingTalk.ClientSecret,
		RobotCode: cfg.DingTalk.RobotCode, CoolAppCode: cfg.DingTalk.CoolAppCode, Timeout: cfg.DingTalk.Timeout, QPS: cfg.DingTalk.QPS}, nil)
	a.Client.OnCall = a.Metrics.APICall
	a.Sender = recall.NewSender(a.Ledger, a.Client, a.Log, recall.SenderConfig{Window: cfg.Recall.Window, Now: a.Now})
	a.Sender.OnSend = a.Metrics.Sent
	a.Engine = recall.New(a.Ledger, a.Client, a.Log, recall.Config{Window: cfg.Recall.Window, Now: a.Now})
	a.Engine.OnOutcome = func(o recall.Outcome, n int) { a.Metrics.Outcome(string(o), n) }
	if cfg.AutoRecall.Enabled {
		ac := cfg.AutoRecall
		a.AutoRecall, err = autorecall.New(autorecall.Config{Rules: ac.rules(), MaxPerMinute: ac.MaxPerMinute, PauseFor: ac.PauseFor,
			DuplicateWindow: ac.DuplicateWindow, OwnSecrets: cfg.secrets(), Admins: cfg.Admins, Locale: cfg.Locale, Now: a.Now},
			a.Ledger, a.Sender, a.Engine, a.Log, a.Metrics)
		if err != nil {
			return err
		}
		a.Sender.SetGuard(a.AutoRecall)
	}
	a.Bot = handlers.NewBot(handlers.Config{Admins: cfg.Admins, Locale: cfg.Locale, MaxLast: cfg.Recall.MaxLast,
		ConfirmAbove: cfg.Recall.ConfirmAbove, ConfirmTTL: cfg.Recall.ConfirmTTL, Window: cfg.Recall.Window, Now: a.Now},
		a.Ledger, a.Sender, a.Engine, a.Log, a.Metrics)
	a.Listener = handlers.NewListener(handlers.StreamConfig{ClientID: cfg.DingTalk.ClientID, ClientSecret: cfg.DingTalk.ClientSecret,
		APIBase: cfg.DingTalk.APIBase, KeepAlive: cfg.DingTalk.KeepAlive}, a.Bot.Handle, a.Log)
	a.Bot.SetConnected(a.Listener.Connected)
	a.Metrics.WatchConnected(a.Listener.Connected)

	bg, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ledger.Retention{Age: cfg.Ledger.Retention}.Run(bg, a.Ledger, a.Log.Named("ledger"))
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.resumeLoop(bg)
	}()
	if a.AutoRecall != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.AutoRecall.RunSelfDestruct(bg, cfg.AutoRecall.SelfDestructEvery)
		}()
	}

	if cfg.HTTP.Listen != "" {
		if err := a.serveHTTP(); err != nil {
			return err
		}
	}
	if err := a.Listener.Start(ctx); err != nil {
		return err
	}
	a.Log.Info("recallbot running", zap.String("api_base", cfg.DingTalk.APIBase), zap.String("http", a.httpAddr), zap.Int("admins", len(cfg.Admins)))
	return nil
}

func openLedger(ctx context.Context, c LedgerConfig) (ledger.Store, error) {
	if c.RedisURL != "" {
		return ledger.OpenRedis(ctx, c.RedisURL, ledger.RedisOptions{})
	}
	return ledger.Open(c.Path, ledger.BoltOptions{})
}

func (a *App) serveHTTP() error {
	a.API = &handlers.API{Token: a.Config.HTTP.Token, Ledger: a.Ledger, Sender: a.Sender, Engine: a.Engine,
		Log: a.Log.Named("http"), Metrics: a.Metrics, Ready: a.Listener.Connected, Locale: a.Config.Locale, AutoRecall: a.AutoRecall}
	ln, err := net.Listen("tcp", a.Config.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	a.httpAddr = ln.Addr().String()
	a.httpServer = &http.Server{Handler: a.API.Handler(), ReadHeaderTimeout: 10 * time.Second}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("http server stopped", zap.Error(err))
		}
	}()
	return nil
}

// resumeLoop takes over recalls a crash left unfinished, at start and then
// every minute (a claim counts as stale after two minutes).
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
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops intake first (Stream, then HTTP), lets running commands and
// recalls finish until ctx ends, then closes the ledger.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.Listener != nil {
		errs = append(errs, a.Listener.Stop(ctx))
	}
	if a.httpServer != nil {
		errs = append(errs, a.httpServer.Shutdown(ctx))
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.Ledger != nil {
		errs = append(errs, a.Ledger.Close())
	}
	return errors.Join(errs...)
}
