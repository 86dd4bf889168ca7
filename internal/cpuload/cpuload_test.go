package cpuload

import (
	"runtime"
	"testing"
	"time"
)

// TestStartBusiesTheCoresUntilStopped: the workers run (their goroutines
// exist while loaded) and stop returns once every one of them has ended,
// so a caller that stops the load gets its cores back.
func TestStartBusiesTheCoresUntilStopped(t *testing.T) {
	before := runtime.NumGoroutine()
	stop := Start(2)
	if n := runtime.NumGoroutine(); n < before+2 {
		t.Errorf("%d goroutines while loaded, want at least %d", n, before+2)
	}
	done := make(chan struct{})
	go func() {
		stop()
		stop() // a second stop is harmless
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a timing assertion
		t.Fatal("stop did not return")
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		t.Errorf("%d goroutines after stop, want about %d", n, before)
	}
}
