// Command recallbot is a DingTalk chat-ops bot that records every message it
// sends and takes messages back on command: `/recall last 5`.
//
// Usage:
//
//	recallbot run -config config.yaml   the bot
//	recallbot demo                      the whole job against the embedded emulator
//	recallbot sim                       a DingTalk emulator to develop against
//	recallbot send|recall|audit|entries|resolve   operate a running bot over its HTTP API
//	recallbot healthcheck               whether a running bot is ready
//	recallbot version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var ue usageErr
	var le loggedErr
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, &ue):
		os.Exit(2)
	case errors.As(err, &le): // the log has said it: once is enough
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "recallbot:", err)
		os.Exit(1)
	}
}

const usage = `recallbot: a DingTalk bot that records what it sends and recalls it on command.

Usage: recallbot COMMAND [flags]

The bot:
  run -config FILE   run the bot (SIGINT/SIGTERM: stop intake, finish running work, exit 0)
  demo               play the whole job against the embedded DingTalk emulator (no credentials)
  sim                run a DingTalk emulator to develop against
  healthcheck        exit 0 if a running bot is ready (its /readyz), 1 if not: for containers and scripts
  version            print the version and the revision it was built from

Operate a running bot over its HTTP API (token from RECALLBOT_HTTP_TOKEN, address -api or RECALLBOT_API):
  send               send a message through the bot, ledgered and recallable
  broadcast          start (--users, --users-file), status or cancel a broadcast; --wait shows its progress
  recall             recall messages: --last N --chat ID, --since 30m, --keys, --batch (with progress), --matching, --dry-run
  audit              the audit trail (--access: refused requests)
  entries            entries that need attention: pending (default), recalling, recall_failed
  resolve            settle a pending entry: resolve ID --state sent --key KEY | send_failed | unknown

Run "recallbot COMMAND -h" for a command's flags.
`

// usageErr is a command line that could not be understood; the process
// exits 2 after the usage went to stderr.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

var commands = map[string]func(context.Context, []string, io.Writer, io.Writer) error{
	"run": runBot, "demo": runDemo, "sim": runSim,
	"send": runSend, "recall": runRecall, "audit": runAudit, "entries": runEntries, "resolve": runResolve,
	"broadcast": runBroadcast, "healthcheck": runHealthcheck,
}

// run dispatches a subcommand. It never exits the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErr{"no command given"}
	}
	switch cmd := args[0]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "recallbot", buildVersion())
		return nil
	case "-config": // the form of older versions: recallbot -config FILE
		return runBot(ctx, args, stdout, stderr)
	default:
		if f, ok := commands[cmd]; ok {
			return f(ctx, args[1:], stdout, stderr)
		}
		fmt.Fprint(stderr, usage)
		return usageErr{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// buildVersion is the module version and the VCS revision the binary was
// built from: "v1.2.0", or "(devel) 3f9a1c2e0b7d, 2026-11-29T14:02:11Z,
// modified" for a build from a checkout.
func buildVersion() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if v == "" {
		v = bi.Main.Version
	}
	var rev, when, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	if rev == "" {
		return v
	}
	return fmt.Sprintf("%s (revision %.12s, %s%s)", v, rev, when, dirty)
}

// flagError turns a flag parsing failure (already printed with the usage)
// into a usageErr; -h stays flag.ErrHelp.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageErr{err.Error()}
}

// newFlagSet returns a flag set that prints its usage to stderr and reports
// errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: recallbot %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
