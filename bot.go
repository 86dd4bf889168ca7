package main

import (
	"context"
	"errors"
	"io"
)

// runBot runs the bot until ctx ends.
func runBot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run -config FILE", stderr)
	path := fs.String("config", "config.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
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
	return errors.New("the bot itself is not built yet: see issue 5 (Stream listener and commands)")
}

// runDemo plays the whole job against the embedded emulator.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("the demo comes with the bot: see issue 5")
}
