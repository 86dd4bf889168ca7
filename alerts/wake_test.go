package alerts

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestSilenceEndRedrawsTheMessage: a message that says SILENCED (or
// acknowledged) stops saying so when the silence ends: at its end time,
// found by the reconciler's scan with no notification coming, and with
// the next notification too.
func TestSilenceEndRedrawsTheMessage(t *testing.T) {
	ctx := context.Background()
	for _, ack := range []bool{false, true} {
		clock := &testClock{now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
		led, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		api := &fakeCards{cards: map[string]string{}}
		r := NewReconciler(led, api, noRecalls{}, zap.NewNop(), nil, ReconcilerConfig{Owner: "me", Locale: "en", Now: clock.Now, Alerts: Config{AlertmanagerURL: "http://am"}})
		id := notifyState(t, led, "S1", false, clock.Now(), "db1")
		if err := r.work(ctx, id); err != nil {
			t.Fatal(err)
		}
		// A silence of a minute made from chat.
		if _, err := led.UpdateAlert(ctx, id, "", nil, func(g *ledger.AlertGroup) error {
			g.Silences = append(g.Silences, ledger.AlertSilence{ID: "s1", By: "Li", Until: clock.Now().Add(time.Minute), Ack: ack})
			g.Version++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := r.work(ctx, id); err != nil {
			t.Fatal(err)
		}
		g, _ := alertGroup(ctx, led, cidG, id)
		word := "SILENCED"
		if ack {
			word = "acknowledged"
		}
		if !strings.Contains(api.text(g.Card), word) {
			t.Fatalf("the silence is not shown: %s", api.text(g.Card))
		}
		clock.advance(2 * time.Minute)
		r.scan(ctx)
		if ready := r.ready(); len(ready) != 1 || ready[0] != id {
			t.Fatalf("the scan after the silence ended queued %v", ready)
		}
		if err := r.work(ctx, id); err != nil {
			t.Fatal(err)
		}
		r.finish(id, nil)
		if text := api.text(g.Card); strings.Contains(text, word) || !strings.Contains(text, "FIRING") {
			t.Errorf("ack %v: after the silence ended the card says %s", ack, text)
		}
		_ = led.Close()
	}
}
