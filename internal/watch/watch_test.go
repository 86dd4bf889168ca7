package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	if err := Until(context.Background(), func() bool { n++; return n == 3 }); err != nil || n != 3 {
		t.Errorf("Until = %v after %d looks, want nil after 3", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Until(ctx, func() bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("Until with an ended context = %v", err)
	}
}

func TestBufferIsWrittenAndReadAtOnce(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { fmt.Fprintf(&b, "%d\n", i) })
		_ = b.String()
	}
	wg.Wait()
	if got := len(b.String()); got != 20 {
		t.Errorf("%d bytes written, want 20", got)
	}
}
