package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/recall"
)

// Sim is `recallbot sim`: it serves the DingTalk emulator until ctx ends, so that a person can
// run the bot against it and play the users through the control API.
func Sim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "sim [flags]", stderr)
	setup := simFlags(fs)
	var o dingtalktest.Options
	fs.StringVar(&o.Addr, "listen", "127.0.0.1:8471", "listen address (loopback)")
	fs.StringVar(&o.ClientID, "client-id", "dingemulatorapp", "the app's clientId (AppKey)")
	fs.StringVar(&o.ClientSecret, "client-secret", "emulator-secret", "the app's clientSecret")
	fs.StringVar(&o.RobotCode, "robot-code", "dingemulatorbot", "the bot's robotCode")
	fs.StringVar(&o.CoolAppCode, "cool-app-code", "COOLAPP-1-EMULATOR", "the cool app code for person-to-person chats")
	fs.DurationVar(&o.ACKTimeout, "ack-timeout", 60*time.Second, "redeliver a frame not ACKed within this time")
	fs.DurationVar(&o.RecallWindow, "recall-window", 24*time.Hour, "how long messages stay recallable")
	fs.DurationVar(&o.PingInterval, "ping-interval", 30*time.Second, "SYSTEM ping cadence (0: never)")
	fs.IntVar(&o.QPS, "qps", 20, "calls per second per app and API (-1: unlimited)")
	fs.IntVar(&o.MaxCalls, "max-calls", 100_000, "recorded calls kept for /sim/v1/calls (oldest dropped)")
	fs.DurationVar(&o.Latency, "latency", 0, "round trip of each OpenAPI call (half before it takes effect, half before its answer), e.g. 150ms")
	fs.DurationVar(&o.Jitter, "jitter", 0, "each half of the round trip varies uniformly by up to this much, e.g. 50ms")
	fs.BoolVar(&o.SteadyWayBack, "steady-way-back", false, "only the way to DingTalk varies (by -jitter); answers come back after exactly half of -latency")
	window := fs.String("window", "sliding", "how -qps is counted: sliding (any 1 s) or calendar (each calendar second)")
	if err := parseFlags(fs, args, envLang(os.Getenv)); err != nil {
		return err
	}
	switch *window {
	case "sliding":
		o.SlidingWindow = true
	case "calendar":
	default:
		if envLang(os.Getenv) == "zh" {
			return usageError(fs, fmt.Sprintf("-window 的值%s无效：应为 sliding 或 calendar", recall.QuoteValue(*window, "zh")))
		}
		return usageError(fs, fmt.Sprintf("-window %q: want sliding or calendar", *window))
	}
	if o.Latency < 0 || o.Jitter < 0 {
		if envLang(os.Getenv) == "zh" {
			return usageError(fs, "-latency 和 -jitter 不能为负数")
		}
		return usageError(fs, "-latency and -jitter cannot be negative")
	}
	srv, err := dingtalktest.NewServer(o)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("the emulator's address %s is in use (a sim already running?): choose another with -listen ADDR; -bot-http ADDR moves the bot's API in the configuration it writes", o.Addr)
	}
	if err != nil {
		return err
	}
	defer srv.Close()
	cleanup, err := setup.prepare(srv, stdout)
	if err != nil {
		return err
	}
	defer cleanup()
	<-ctx.Done()
	return nil
}

// simLimits says in one sentence how the emulator limits and delays calls.
func simLimits(o dingtalktest.Options) string {
	limit := "No rate limit."
	if o.QPS >= 0 {
		window := "each calendar second"
		if o.SlidingWindow {
			window = "any sliding second"
		}
		limit = fmt.Sprintf("At most %d calls per app and API in %s (-qps, -window).", o.QPS, window)
	}
	if o.Latency == 0 && o.Jitter == 0 {
		return limit + " No added round trip (-latency, -jitter)."
	}
	return fmt.Sprintf("%s Round trip %s, each half varying by ±%s (-latency, -jitter).", limit, o.Latency, o.Jitter)
}

// invokedAs is the command line's name for recallbot in the steps sim
// prints: "./recallbot" when it was run from a path (it may not be on the
// PATH), else "recallbot".
func invokedAs(arg0 string) string {
	if filepath.Base(arg0) == "recallbot" && filepath.Base(arg0) != arg0 {
		return arg0
	}
	return "recallbot"
}
