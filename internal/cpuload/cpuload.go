// Package cpuload keeps a machine's cores busy, so that the tests and the
// benchmarks can be run the way a loaded machine runs them: a newcomer's
// laptop with a browser open, a CI runner shared with other jobs. Both
// tools/load (for any command, until interrupted) and tools/benchreport's
// loaded pass (for the benchmarks it runs) load the machine through Start,
// so the two mean the same load.
package cpuload

import (
	"runtime"
	"sync"
)

// checkEvery is how many spins a worker makes between looks at its quit
// channel: rare enough that the look costs nothing, often enough that Stop
// returns within microseconds.
const checkEvery = 1 << 12

// Start keeps n goroutines spinning, each on its own thread (the runtime
// runs at most GOMAXPROCS of them at once, so a process that wants every
// core busy leaves GOMAXPROCS at its default, the number of cores), until
// the returned stop is called; stop waits for them to end. n below 1 means
// one per core.
func Start(n int) (stop func()) {
	if n < 1 {
		n = runtime.NumCPU()
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { spin(quit) })
	}
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		wg.Wait()
	}
}

// spin burns one core until quit is closed. The work is a cheap integer
// recurrence whose result is kept, so the compiler cannot drop the loop.
func spin(quit <-chan struct{}) uint64 {
	var x uint64 = 1
	for {
		for range checkEvery {
			x = x*6364136223846793005 + 1442695040888963407
		}
		select {
		case <-quit:
			return x
		default:
		}
	}
}
