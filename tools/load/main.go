// Command load keeps every core of the machine busy: the background load
// under which recallbot's tests must still pass. Given a command, it loads
// the machine while that command runs and exits with the command's status;
// without one, until it is interrupted or its time is up.
//
//	go run ./tools/load -- go test -race -count=1 ./...   # the suite on a loaded machine
//	go run ./tools/load -for 10m                          # load for ten minutes
//	go run ./tools/load -n 1                              # one core only, until Ctrl-C
//
// It spins one goroutine per core at normal priority, so the tests get no
// more of the machine than they would beside another busy job.
// tools/benchreport's loaded pass uses the same load (internal/cpuload).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/recallbot/recallbot/internal/cpuload"
)

func main() {
	if err := run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", runtime.NumCPU(), "how many cores to keep busy")
	d := flag.Duration("for", 0, "stop after this long (0: until interrupted, or until the command ends)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: load [-n cores] [-for duration] [-- command args...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if *d > 0 {
		var stopTimer context.CancelFunc
		ctx, stopTimer = context.WithTimeout(ctx, *d)
		defer stopTimer()
	}
	if *n > runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(*n + 1) // and one thread left for this process's own work
	}
	fmt.Fprintf(os.Stderr, "load: %d goroutines spinning (pid %d)\n", *n, os.Getpid())
	stop := cpuload.Start(*n)
	defer stop()
	if flag.NArg() == 0 {
		<-ctx.Done()
		return nil
	}
	cmd := exec.CommandContext(ctx, flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	return cmd.Run()
}
