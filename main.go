// Command recallbot is a DingTalk chat-ops bot that records every message it
// sends and takes messages back on command: `/recall last 5`.
//
// Usage:
//
//	recallbot run -config config.yaml   the bot (also: recallbot -config config.yaml)
//	recallbot demo                      the whole job against the embedded emulator
//	recallbot sim                       a DingTalk emulator to develop against
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
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "recallbot:", err)
		os.Exit(1)
	}
}

const usage = `recallbot: a DingTalk bot that records what it sends and recalls it on command.

Usage:
  recallbot run -config FILE   run the bot (a bare "recallbot -config FILE" does the same)
  recallbot demo               play the whole job against the embedded DingTalk emulator
  recallbot sim                run a DingTalk emulator to develop against
  recallbot version            print the version

Run "recallbot COMMAND -h" for a command's flags.
`

// run dispatches a subcommand. It never exits the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runBot(ctx, args, stdout, stderr)
	case "demo":
		return runDemo(ctx, args, stdout, stderr)
	case "sim":
		return runSim(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "recallbot", buildVersion())
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
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
