package alerts

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// recalls records what the reconciler asks to recall.
type recalls struct {
	mu  sync.Mutex
	ids []uint64
}

func (r *recalls) Recall(ctx context.Context, req recall.Request) (*recall.Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, req.Selection.IDs...)
	return &recall.Receipt{}, nil
}

// reconcilerWith is newTestReconciler with alerts configured as c and the
// recalls recorded.
func reconcilerWith(t *testing.T, c Config) (*Reconciler, *ledger.Bolt, *fakeCards, *recalls) {
	t.Helper()
	led, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = led.Close() })
	api := &fakeCards{cards: map[string]string{}}
	rec := &recalls{}
	return NewReconciler(led, api, rec, zap.NewNop(), nil, ReconcilerConfig{Owner: "me", Locale: "en", Alerts: c}), led, api, rec
}

// notifyState records a notification of group name in cidG: its alerts
// (by instance) firing, or resolved, started at start.
func notifyState(t *testing.T, led ledger.Store, name string, resolved bool, start time.Time, instances ...string) string {
	t.Helper()
	n := Notification{Source: SourceAlertmanager, Receiver: "db", Status: "firing", GroupKey: `{}:{alertname="` + name + `"}`,
		GroupLabels: map[string]string{"alertname": name}}
	if resolved {
		n.Status = "resolved"
	}
	for _, inst := range instances {
		a := Alert{Status: n.Status, Labels: map[string]string{"alertname": name, "instance": inst},
			Annotations: map[string]string{"summary": name + " on " + inst}, StartsAt: start, Fingerprint: inst}
		if resolved {
			a.EndsAt = start.Add(time.Minute)
		}
		n.Alerts = append(n.Alerts, a)
	}
	g, err := notice(n, "db", cidG, time.Now())
	if err == nil {
		g, err = led.PutAlert(context.Background(), g)
	}
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

// cardTexts are the cards the fake holds, in the order sent.
func cardTexts(api *fakeCards) []string {
	api.mu.Lock()
	defer api.mu.Unlock()
	type card struct{ key, text string }
	var cs []card
	for biz, key := range api.cards {
		cs = append(cs, card{key, api.data[biz]})
	}
	slices.SortFunc(cs, func(a, b card) int { return compareKeys(a.key, b.key) })
	var out []string
	for _, c := range cs {
		out = append(out, c.text)
	}
	return out
}

// compareKeys orders the fake's keys (key-1, key-2, …, key-10) as sent.
func compareKeys(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// TestResolvedBeforeItsFirstMessage: a group that fired and resolved before
// the chat showed it (its first send failed, or the states came faster
// than DingTalk took them) still gets a message, the resolved one, with
// on_resolved update or keep; with recall nothing is sent. So does a group
// that fired again after it resolved and resolved again unseen.
func TestResolvedBeforeItsFirstMessage(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	for _, on := range []OnResolved{ResolvedUpdate, ResolvedKeep, ResolvedRecall} {
		t.Run(string(on), func(t *testing.T) {
			r, led, api, _ := reconcilerWith(t, Config{OnResolved: on})
			api.refuseSend = 1 // the first send fails before DingTalk acts
			id := notifyState(t, led, "FR1", false, t0, "db1")
			if err := r.work(ctx, id); err == nil {
				t.Fatal("a failed send was taken for a success")
			}
			notifyState(t, led, "FR1", true, t0, "db1")
			if err := r.work(ctx, id); err != nil {
				t.Fatal(err)
			}
			g, _ := alertGroup(ctx, led, cidG, id)
			cards := cardTexts(api)
			switch {
			case on == ResolvedRecall && len(cards) != 0:
				t.Errorf("recall: %d cards sent for a group that resolved unseen", len(cards))
			case on != ResolvedRecall && (len(cards) != 1 || !strings.Contains(cards[0], "RESOLVED")):
				t.Errorf("%s: the chat shows %q, want the resolved card", on, cards)
			case g.Due() || !g.Closed:
				t.Errorf("the group is not settled: %+v", g)
			}
		})
	}

	t.Run("fires again, resolves unseen", func(t *testing.T) {
		r, led, api, rec := reconcilerWith(t, Config{})
		id := notifyState(t, led, "FR2", false, t0, "db1")
		_ = r.work(ctx, id)
		notifyState(t, led, "FR2", true, t0, "db1")
		_ = r.work(ctx, id)
		first, _ := alertGroup(ctx, led, cidG, id)
		// It fires again (a new start) and resolves before it is worked on.
		notifyState(t, led, "FR2", false, t0.Add(time.Hour), "db1")
		notifyState(t, led, "FR2", true, t0.Add(time.Hour), "db1")
		if err := r.work(ctx, id); err != nil {
			t.Fatal(err)
		}
		cards := cardTexts(api)
		if len(cards) != 2 || !strings.Contains(cards[1], "RESOLVED") || !slices.Contains(rec.ids, first.Entry) {
			t.Errorf("the second incident: cards %q, recalled %v (the first card is entry %d)", cards, rec.ids, first.Entry)
		}
	})
}

// TestCardGoneIsSupersededAndRecalled: an update DingTalk answers
// invalid.bizId for a card the ledger says is in the chat sends a new card
// and recalls the old one: never two live cards for one group.
func TestCardGoneIsSupersededAndRecalled(t *testing.T) {
	ctx := context.Background()
	r, led, api, rec := reconcilerWith(t, Config{})
	id := notifyState(t, led, "G1", false, time.Now(), "db1")
	if err := r.work(ctx, id); err != nil {
		t.Fatal(err)
	}
	old, _ := alertGroup(ctx, led, cidG, id)
	api.goneOnUpdate = 1
	notifyState(t, led, "G1", false, time.Now(), "db1", "db2")
	if err := r.work(ctx, id); err != nil {
		t.Fatal(err)
	}
	g, _ := alertGroup(ctx, led, cidG, id)
	if len(api.cards) != 2 || g.Entry == old.Entry || !slices.Contains(rec.ids, old.Entry) {
		t.Errorf("after invalid.bizId: %d cards, current entry %d (was %d), recalled %v", len(api.cards), g.Entry, old.Entry, rec.ids)
	}
}
