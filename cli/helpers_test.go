package cli

import (
	"context"
	"github.com/recallbot/recallbot/internal/watch"
	"io"
	"net"
	"testing"
)

// run runs a command as `recallbot` does (main's command table).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	commands := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"run": Run, "sim": Sim, "healthcheck": Healthcheck,
	}
	return commands[args[0]](ctx, args[1:], stdout, stderr)
}

// syncBuffer is an output a test reads while something else writes it.
type syncBuffer = watch.Buffer

// waitFor polls a condition nothing signals, until ctx ends (watch.Until).
var waitFor = watch.Until

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
