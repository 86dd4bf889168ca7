package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
)

// closeHardLimit bounds how long Close waits, after ctx ended and the work
// was cancelled, for it to return before the ledger is closed anyway. A
// cancelled send still records a key it already has (the ledger, then the
// spool, in at most the sender's RecordFor).
const closeHardLimit = 10 * time.Second

// group runs long-running parts, each a func(ctx) error, on one context,
// and waits for them: every goroutine it starts has it as its owner. The
// app has two: the background work, and the work HTTP requests start to
// outlive them (asynchronous recalls).
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    *zap.Logger

	mu      sync.Mutex
	closing bool // no part starts once the group is stopping
	wg      sync.WaitGroup
}

func newGroup(log *zap.Logger) *group {
	ctx, cancel := context.WithCancel(context.Background())
	return &group{ctx: ctx, cancel: cancel, log: log}
}

// Go runs run in a goroutine the group waits for, unless the group is
// stopping. An error run returns before it was told to stop is logged.
func (g *group) Go(name string, run func(context.Context) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		g.log.Info("not started: shutting down", zap.String("part", name))
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := run(g.ctx); err != nil && g.ctx.Err() == nil {
			g.log.Error("stopped by an error", zap.String("part", name), zap.Error(err))
		}
	}()
}

// goFunc is Go for work that returns nothing (httpapi.API's Go).
func (g *group) goFunc(name string) func(func(context.Context)) {
	return func(f func(context.Context)) {
		g.Go(name, func(ctx context.Context) error { f(ctx); return nil })
	}
}

// stop tells the parts to stop (their context ends) and starts no more.
func (g *group) stop() {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	g.cancel()
}

// drain starts no more parts and lets the running ones finish until ctx
// ends; then it stops them and waits for them.
func (g *group) drain(ctx context.Context, late string) error {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	select {
	case <-g.done():
	case <-ctx.Done():
	}
	g.stop()
	return g.wait(late)
}

// wait waits for the parts to return, at most closeHardLimit; past it, it
// returns an error saying so (late) and leaves them.
func (g *group) wait(late string) error {
	t := time.NewTimer(closeHardLimit)
	defer t.Stop()
	select {
	case <-g.done():
		return nil
	case <-t.C:
		return errors.New(late)
	}
}

// done is closed once every part has returned. It is only called once the
// group is closing, so no part is added while it waits.
func (g *group) done() <-chan struct{} {
	c := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(c)
	}()
	return c
}
