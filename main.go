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
//	recallbot check-config -config FILE  validate a configuration, show it with secrets redacted
//	recallbot completion bash|zsh|fish  a shell completion script
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
	"syscall"

	"github.com/recallbot/recallbot/cli"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode is the process's exit code for what run returned: 0 for
// nothing (or -h), 2 for a command line that could not be understood (its
// usage went to stderr), 1 for any other error, printed unless the log has
// said it already.
func exitCode(err error, stderr io.Writer) int {
	var ue cli.UsageError
	var le cli.LoggedError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	case errors.As(err, &le): // the log has said it: once is enough
		return 1
	}
	fmt.Fprintln(stderr, "recallbot:", err)
	return 1
}

const usage = `recallbot: a DingTalk bot that records what it sends and recalls it on command.

Usage: recallbot COMMAND [flags]

The bot:
  run -config FILE   run the bot (SIGINT/SIGTERM: stop intake, finish running work, exit 0)
  demo               play the whole job against the embedded DingTalk emulator (no credentials)
  sim                run a DingTalk emulator to develop against
  healthcheck        exit 0 if a running bot is ready (its /readyz), 1 if not: for containers and scripts
  check-config       validate a configuration and print it with its secrets redacted (-online: also try DingTalk and the ledger)
  completion SHELL   print a completion script for bash, zsh or fish
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

// commands are recallbot's subcommands, each run by the cli package. The
// completion scripts are generated from this table.
func commands() []cli.Command {
	var table []cli.Command
	table = []cli.Command{
		{Name: "run", Run: cli.RunStamped(version)}, {Name: "demo", Run: cli.Demo}, {Name: "sim", Run: cli.Sim},
		{Name: "send", Run: cli.Send}, {Name: "recall", Run: cli.Recall}, {Name: "audit", Run: cli.Audit},
		{Name: "entries", Run: cli.Entries, Verbs: []string{"pending", "recalling", "recall_failed"}}, {Name: "resolve", Run: cli.Resolve},
		{Name: "broadcast", Run: cli.Broadcast, Verbs: cli.BroadcastVerbs},
		{Name: "healthcheck", Run: cli.Healthcheck}, {Name: "check-config", Run: cli.CheckConfig},
		{Name: "completion", Verbs: cli.Shells, Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return cli.Completion(ctx, table, args, stdout, stderr)
		}},
		{Name: "version", Run: func(_ context.Context, args []string, stdout, stderr io.Writer) error {
			return cli.Version(args, stdout, stderr, version)
		}},
		{Name: "help", Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			if len(args) == 1 && args[0] != "help" { // help COMMAND: the command's own -h
				for _, c := range table {
					if c.Name == args[0] {
						return c.Run(ctx, []string{"-h"}, stdout, stderr)
					}
				}
				return cli.UnknownCommand(stderr, args[0], table)
			}
			_, err := fmt.Fprint(stdout, usage)
			return err
		}},
	}
	return table
}

// run dispatches a subcommand. It never exits the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.UsageError{Reason: "no command given"}
	}
	switch cmd := args[0]; cmd {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "-version", "--version":
		return cli.Version(nil, stdout, stderr, version)
	case "-config": // the form of older versions: recallbot -config FILE
		return cli.RunStamped(version)(ctx, args, stdout, stderr)
	default:
		table := commands()
		for _, c := range table {
			if c.Name == cmd {
				return c.Run(ctx, args[1:], stdout, stderr)
			}
		}
		return cli.UnknownCommand(stderr, cmd, table)
	}
}
