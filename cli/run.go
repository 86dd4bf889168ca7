package cli

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"go.uber.org/zap"
)

// shutdownGrace is how long running commands and recalls may take to
// finish after SIGINT or SIGTERM.
const shutdownGrace = 25 * time.Second

// Run is `recallbot run`: it runs the bot until ctx ends (SIGINT, SIGTERM), then shuts down in
// order and returns nil.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runBot(ctx, args, stderr, "")
}

// RunStamped is Run for a binary whose version was stamped at build time
// (-ldflags "-X main.version=v1.2.3"): the bot says that version.
func RunStamped(stamped string) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, _, stderr io.Writer) error {
		return runBot(ctx, args, stderr, stamped)
	}
}

func runBot(ctx context.Context, args []string, stderr io.Writer, stamped string) error {
	fs := newFlagSet("run", "run -config FILE", stderr)
	path := fs.String("config", "config.yaml", "configuration file")
	if err := parseFlags(fs, args, envLang(os.Getenv)); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log, err := app.NewLogger(cfg.Log, stderr, cfg.Secrets())
	if err != nil {
		return err
	}
	defer log.Sync()
	bot := app.New(cfg, log, app.Options{Version: stamped})
	if err := bot.Open(ctx); err != nil {
		log.Error("start failed", zap.Error(err))
		return LoggedError{err}
	}
	<-ctx.Done()
	log.Info("shutting down", zap.Float64("grace_seconds", shutdownGrace.Seconds()))
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := bot.Close(sctx); err != nil {
		log.Warn("shutdown incomplete", zap.Error(err))
	}
	log.Info("stopped")
	return nil
}
