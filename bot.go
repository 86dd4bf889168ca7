package main

import (
	"context"
	"io"
	"time"

	"go.uber.org/zap"
)

// shutdownGrace is how long running commands and recalls may take to
// finish after SIGINT or SIGTERM.
const shutdownGrace = 25 * time.Second

// loggedErr is an error the log has reported already; main exits 1
// without printing it a second time.
type loggedErr struct{ error }

func (e loggedErr) Unwrap() error { return e.error }

// runBot runs the bot until ctx ends (SIGINT, SIGTERM), then shuts down in
// order and returns nil.
func runBot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run -config FILE", stderr)
	path := fs.String("config", "config.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Log, stderr, cfg.secrets())
	if err != nil {
		return err
	}
	defer log.Sync()
	app := NewApp(cfg, log)
	if err := app.Open(ctx); err != nil {
		log.Error("start failed", zap.Error(err))
		return loggedErr{err}
	}
	<-ctx.Done()
	log.Info("shutting down", zap.Duration("grace", shutdownGrace))
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := app.Close(sctx); err != nil {
		log.Warn("shutdown incomplete", zap.Error(err))
	}
	log.Info("stopped")
	return nil
}
