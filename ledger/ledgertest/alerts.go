package ledgertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// notice is a notification of group id in chat, its state hashed to hash.
func notice(id string, chat ledger.Chat, hash string, firing bool) ledger.AlertGroup {
	return ledger.AlertGroup{ID: id, Chat: chat, Route: "db", Source: "alertmanager", GroupKey: "{}:{alertname=\"X\"}",
		State: json.RawMessage(`{"h":"` + hash + `"}`), Hash: hash, Firing: firing, Seen: time.Now()}
}

// testAlertGroups is the life of one alert group in the ledger: a
// notification, its repeat and its change; one owner at a time; a send
// written ahead with its entry and settled with the group in one commit;
// lookups by chat and short id; pruning once closed.
func testAlertGroups(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	g, err := s.PutAlert(ctx, notice("a1b2c3d4", chatB, "h1", true))
	if err != nil || g.Version != 1 || g.Shown != 0 || !g.Due() || g.Created.IsZero() {
		t.Fatalf("PutAlert = %+v, %v", g, err)
	}
	// A repeat changes nothing the chat must see; a change does.
	if g, _ = s.PutAlert(ctx, notice("a1b2c3d4", chatB, "h1", true)); g.Version != 1 {
		t.Errorf("repeat: version %d", g.Version)
	}
	if g, _ = s.PutAlert(ctx, notice("a1b2c3d4", chatB, "h2", true)); g.Version != 2 || string(g.State) != `{"h":"h2"}` {
		t.Errorf("change: %+v", g)
	}
	if due, _ := s.DueAlerts(ctx, 10); len(due) != 1 || due[0].ID != "a1b2c3d4" {
		t.Errorf("DueAlerts = %+v", due)
	}
	if _, err := s.PutAlert(ctx, ledger.AlertGroup{ID: "bad id", Chat: chatB, Hash: "h", State: json.RawMessage(`{}`)}); err == nil {
		t.Error("an id with a space was taken")
	}

	// One owner at a time; a lapsed one is taken over.
	if _, mine, err := s.TakeAlert(ctx, "a1b2c3d4", ledger.Claimant{Owner: "a", At: time.Now(), LeaseTTL: time.Hour}); !mine || err != nil {
		t.Fatalf("TakeAlert a: %v %v", mine, err)
	}
	if _, mine, _ := s.TakeAlert(ctx, "a1b2c3d4", ledger.Claimant{Owner: "b", At: time.Now(), LeaseTTL: time.Hour}); mine {
		t.Error("b took a group whose owner is alive")
	}
	if _, err := s.UpdateAlert(ctx, "a1b2c3d4", "b", nil, nil); err == nil {
		t.Error("b updated a's group")
	}

	// A send written ahead, then settled with the group.
	var ase *ledger.AlertStateError
	if _, _, err := s.StartAlertSend(ctx, "a1b2c3d4", "b", ledger.AlertSend{Version: 2}, ledger.Entry{Chat: chatB, MsgKey: "sampleMarkdown"}); !errors.As(err, &ase) {
		t.Errorf("b wrote a send ahead: %v", err)
	}
	g, e, err := s.StartAlertSend(ctx, "a1b2c3d4", "a", ledger.AlertSend{Version: 2, Card: "rb-1"}, ledger.Entry{Chat: chatB, MsgKey: "sampleMarkdown", Excerpt: "[alert] X"})
	if err != nil || e.State != ledger.Pending || e.Alert != "a1b2c3d4" || g.Inflight == nil || g.Inflight.Entry != e.ID {
		t.Fatalf("StartAlertSend = %+v %+v %v", g, e, err)
	}
	if _, _, err := s.StartAlertSend(ctx, "a1b2c3d4", "a", ledger.AlertSend{Version: 2}, ledger.Entry{Chat: chatB}); !errors.As(err, &ase) {
		t.Errorf("a second send in flight: %v", err)
	}
	g, err = s.UpdateAlert(ctx, "a1b2c3d4", "a", &ledger.Change{ID: e.ID, Transition: ledger.Transition{To: ledger.Sent, Key: "k-alert-1"}}, func(g *ledger.AlertGroup) error {
		g.Entry, g.Key, g.Card, g.Shown, g.Inflight = g.Inflight.Entry, "k-alert-1", g.Inflight.Card, g.Inflight.Version, nil
		return nil
	})
	if err != nil || g.Due() || g.Entry != e.ID || g.Key != "k-alert-1" {
		t.Fatalf("settled = %+v, %v", g, err)
	}
	if got, err := s.ByKey(ctx, "k-alert-1"); err != nil || got.Alert != "a1b2c3d4" || got.State != ledger.Sent {
		t.Errorf("the alert's entry = %+v, %v", got, err)
	}
	if due, _ := s.DueAlerts(ctx, 10); len(due) != 0 {
		t.Errorf("DueAlerts after the send = %+v", due)
	}

	// Lookups by chat and the start of the id.
	if _, err := s.PutAlert(ctx, notice("a1ffffff", chatB, "x", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAlert(ctx, notice("a1b2eeee", chatA, "y", true)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ChatAlerts(ctx, chatB, "a1b2"); len(got) != 1 || got[0].ID != "a1b2c3d4" {
		t.Errorf("ChatAlerts(a1b2) = %+v", got)
	}
	if got, _ := s.ChatAlerts(ctx, chatB, "a1"); len(got) != 2 {
		t.Errorf("ChatAlerts(a1) = %d groups, want 2", len(got))
	}
	if got, _ := s.ChatAlerts(ctx, chatU, "a1"); len(got) != 0 {
		t.Errorf("ChatAlerts in another chat = %+v", got)
	}

	// The owner's lease gone, another instance takes the group over.
	dropLease(ctx, s, "a")
	if g, mine, err := s.TakeAlert(ctx, "a1b2c3d4", ledger.Claimant{Owner: "b", At: time.Now(), LeaseTTL: time.Hour}); !mine || g.Owner != "b" || err != nil {
		t.Errorf("b did not take over: %+v %v %v", g, mine, err)
	}

	// Closed and idle for long enough, a group goes with the prune.
	if _, err := s.UpdateAlert(ctx, "a1b2c3d4", "b", nil, func(g *ledger.AlertGroup) error { g.Closed = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ChatAlerts(ctx, chatB, "a1b2c3d4"); err != nil || len(got) != 0 {
		t.Errorf("a pruned group: %+v, %v", got, err)
	}
	if got, _ := s.ChatAlerts(ctx, chatB, "a1"); len(got) != 1 || got[0].ID != "a1ffffff" {
		t.Errorf("after prune ChatAlerts = %+v", got)
	}
}

// testAlertGroupTakenOnce is two instances taking one group and writing
// its first send at the same moment: one wins.
func testAlertGroupTakenOnce(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	for round := range 20 {
		id := fmt.Sprintf("race%02d", round)
		if _, err := s.PutAlert(ctx, notice(id, chatB, "h", true)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		started := 0
		for _, owner := range []string{"x", "y"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, mine, err := s.TakeAlert(ctx, id, ledger.Claimant{Owner: owner, At: time.Now(), LeaseTTL: time.Hour}); err != nil || !mine {
					return
				}
				if _, _, err := s.StartAlertSend(ctx, id, owner, ledger.AlertSend{Version: 1}, ledger.Entry{Chat: chatB, MsgKey: "sampleMarkdown"}); err == nil {
					mu.Lock()
					started++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if started != 1 {
			t.Fatalf("round %d: %d first sends written ahead, want 1", round, started)
		}
	}
}
