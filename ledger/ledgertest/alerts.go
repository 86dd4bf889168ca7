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

// testAlertNotices is what PutAlert makes of notifications beyond their
// state: a firing state leaves the group Unseen until a message shows the
// latest version; a notification saying fires an alert seen resolved
// lately is stale and changes nothing; silences that ended by a
// notification go, and the version with them; a group is found by its
// silences' end (AlertsToWake) and by its group key in every chat
// (KeyAlerts).
func testAlertNotices(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	n := notice("b1", chatB, "h1", true)
	n.Seen, n.Live = t0, []string{"fp1@t0"}
	g, err := s.PutAlert(ctx, n)
	if err != nil || !g.Unseen {
		t.Fatalf("a firing group is not unseen: %+v, %v", g, err)
	}
	shown, err := s.UpdateAlert(ctx, "b1", "", nil, func(g *ledger.AlertGroup) error { g.Shown, g.Unseen = g.Version, false; return nil })
	if err != nil || shown.Unseen {
		t.Fatal(err)
	}
	res := notice("b1", chatB, "h2", false)
	res.Seen, res.Done = t0.Add(time.Minute), []string{"fp1@t0"}
	if g, _ = s.PutAlert(ctx, res); g.Version != 2 || g.Unseen || len(g.Ended) != 1 {
		t.Errorf("the resolution: %+v", g)
	}
	// The first firing notification again, late: stale.
	n.Seen = t0.Add(2 * time.Minute)
	if g, err = s.PutAlert(ctx, n); err != nil || !g.Stale || g.Version != 2 || g.Hash != "h2" {
		t.Errorf("a stale notification: %+v, %v", g, err)
	}
	// After the window, the same alert firing is taken.
	n.Seen = t0.Add(time.Minute + ledger.StaleWindow + time.Second)
	if g, err = s.PutAlert(ctx, n); err != nil || g.Stale || g.Version != 3 || !g.Unseen {
		t.Errorf("firing again after the window: %+v, %v", g, err)
	}

	// Silences: the group wakes at the end of the first; a notification
	// after it ends drops it and changes the version.
	until := t0.Add(time.Hour)
	if _, err := s.UpdateAlert(ctx, "b1", "", nil, func(g *ledger.AlertGroup) error {
		g.Silences = []ledger.AlertSilence{{ID: "s2", Until: until.Add(time.Hour)}, {ID: "s1", Until: until}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AlertsToWake(ctx, until.Add(-time.Second), 10); len(got) != 0 {
		t.Errorf("AlertsToWake before the end = %+v", got)
	}
	if got, _ := s.AlertsToWake(ctx, until, 10); len(got) != 1 || got[0].ID != "b1" {
		t.Errorf("AlertsToWake at the end = %+v", got)
	}
	n.Seen = until.Add(time.Minute)
	if g, _ = s.PutAlert(ctx, n); g.Version != 4 || len(g.Silences) != 1 || g.Silences[0].ID != "s2" || !g.Wake().Equal(until.Add(time.Hour)) {
		t.Errorf("a notification after a silence ended: %+v", g)
	}
	if got, _ := s.AlertsToWake(ctx, until.Add(time.Minute), 10); len(got) != 0 {
		t.Errorf("AlertsToWake after it went = %+v", got)
	}
	if _, err := s.UpdateAlert(ctx, "b1", "", nil, func(g *ledger.AlertGroup) error { g.EndSilences(until.Add(2 * time.Hour)); return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AlertsToWake(ctx, until.Add(3*time.Hour), 10); len(got) != 0 {
		t.Errorf("AlertsToWake without silences = %+v", got)
	}

	// The same group key in two chats.
	if _, err := s.PutAlert(ctx, notice("b2", chatA, "h1", true)); err != nil {
		t.Fatal(err)
	}
	other := notice("b3", chatA, "h1", true)
	other.GroupKey = "{}:{alertname=\"Y\"}"
	if _, err := s.PutAlert(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.KeyAlerts(ctx, "alertmanager", "{}:{alertname=\"X\"}")
	ids := map[string]bool{}
	for _, g := range got {
		ids[g.ID] = true
	}
	if err != nil || len(got) != 2 || !ids["b1"] || !ids["b2"] {
		t.Errorf("KeyAlerts = %+v, %v", got, err)
	}
}
