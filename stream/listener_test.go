package stream

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestUrgentMessagesGoFirst: with every worker busy and a queue of
// ordinary messages waiting, an urgent one (an admin's, in the app) is the
// next to run, ahead of all that were queued before it.
func TestUrgentMessagesGoFirst(t *testing.T) {
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	running, release := make(chan struct{}), make(chan struct{})
	const queued = 20
	var mu sync.Mutex
	var order []string
	all := make(chan struct{})
	handle := func(_ context.Context, m Message) {
		if m.Text == "first" {
			close(running)
			<-release // holds the only worker while the others queue
		}
		mu.Lock()
		defer mu.Unlock()
		if order = append(order, m.Text); len(order) == queued+2 {
			close(all)
		}
	}
	o := srv.Options()
	l := NewListener(Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, APIBase: srv.URL(), Workers: 1,
		Urgent: func(m Message) bool { return m.SenderStaffID == "boss" }}, handle, zap.NewNop())
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Stop(ctx) }()
	if err := srv.WaitUntil(ctx, func() bool { return len(srv.Connections()) == 1 }); err != nil {
		t.Fatal(err)
	}
	push := func(who, text string) {
		if _, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: who, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	push("intern001", "first")
	select {
	case <-running:
	case <-ctx.Done():
		t.Fatal("the first message never ran")
	}
	for i := range queued {
		push("intern001", fmt.Sprint("noise ", i))
	}
	push("boss", "urgent")
	// Every frame is ACKed once queued: then all wait for the one worker.
	if err := srv.WaitUntil(ctx, func() bool { return srv.StreamStats().ACKed == queued+2 }); err != nil {
		t.Fatal(err)
	}
	close(release)
	select {
	case <-all:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("handled only %v", order)
	}
	mu.Lock()
	defer mu.Unlock()
	if i := slices.Index(order, "urgent"); i != 1 {
		t.Errorf("the urgent message ran at position %d, after %v; want it right after the one running when it came (position 2)", i+1, order[:i])
	}
}
