package cli

// A job the bot runs in the background (a broadcast, a recall of
// thousands of messages) is followed by reading its status through
// api.Client again and again; its progress is drawn on stderr.

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// pollEvery is how often a followed job's status is read.
const pollEvery = 250 * time.Millisecond

// progress draws a job's progress on w: one line redrawn in place on a
// terminal, otherwise a new line each time the figures change (so that a
// log of the command reads well).
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// show draws done of total with a note ("3 calls").
func (p *progress) show(what string, done, total int, note string) {
	const width = 30
	filled := 0
	if total > 0 {
		filled = min(width, done*width/total)
	}
	line := fmt.Sprintf("%s [%s%s] %d/%d %s", what, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, note)
	if line == p.last {
		return
	}
	p.last = line
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\033[K", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// end finishes the line on a terminal.
func (p *progress) end() {
	if p.tty && p.last != "" {
		fmt.Fprintln(p.w)
	}
}

// follow reads a job's status with poll until stop says the job ended,
// drawing each answer.
func follow(ctx context.Context, poll func(context.Context) error, stop func() bool, draw func()) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if err := poll(ctx); err != nil {
			return err
		}
		draw()
		if stop() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following (the job goes on in the bot): %w", ctx.Err())
		case <-t.C:
		}
	}
}
