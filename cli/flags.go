// Package cli is recallbot's commands: the bot (run), the demo, the
// emulator (sim), the container's healthcheck, and the operator's commands
// over a running bot's HTTP API (send, recall, broadcast, audit, entries,
// resolve), one file each. Each command is a func(ctx, args, stdout,
// stderr) error that never exits the process: main turns its error into
// an exit code.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
)

// UsageError is a command line that could not be understood; the process
// exits 2 after the usage went to stderr.
type UsageError struct{ Reason string }

func (e UsageError) Error() string { return e.Reason }

// LoggedError is an error the log has reported already; the process exits
// 1 without printing it a second time.
type LoggedError struct{ error }

func (e LoggedError) Unwrap() error { return e.error }

// newFlagSet returns a flag set that prints its usage to stderr and reports
// errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if fc, ok := stderr.(*flagCollector); ok { // completion.go wants the flags
		fc.sets = append(fc.sets, fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: recallbot %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// usageError prints msg and, on one line, where the command's flags are
// told (its whole usage would bury msg); the process exits 2.
func usageError(fs *flag.FlagSet, msg string) error {
	return usageLine(fs.Output(), msg, "recallbot "+fs.Name()+" -h")
}

// usageLine prints msg first, then where help is: the command line that
// prints it. The process exits 2.
func usageLine(w io.Writer, msg, help string) error {
	fmt.Fprintln(w, "recallbot: "+msg)
	if envLang(os.Getenv) == "zh" {
		fmt.Fprintf(w, "用法见 %s\n", help)
	} else {
		fmt.Fprintf(w, "Run %q for help.\n", help)
	}
	return UsageError{msg}
}

// unwrapURLError is the cause of a failed HTTP request without the method
// and URL net/http wraps it in: the commands name the address themselves.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// lastSet reports whether the command line gave --last, even as 0.
func lastSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "last" })
	return set
}
