package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// fakeCards is DingTalk's card and group APIs, as far as the reconciler
// needs them: it keeps the cards, records each call's priority, and can
// be told to act on a send but lose its answer.
type fakeCards struct {
	mu           sync.Mutex
	cards        map[string]string // bizID -> key
	data         map[string]string // bizID -> cardData as last sent or updated
	priorities   []dingtalk.Priority
	loseAnswer   int // the next n card sends act, then answer nothing
	refuseSend   int // the next n card sends are refused before acting: no such card exists
	goneOnUpdate int // the next n updates answer invalid.bizId, though the card is there
	keys         int
}

// text is what card bizID says now.
func (f *fakeCards) text(bizID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.data[bizID]
}

func (f *fakeCards) SendCard(ctx context.Context, to dingtalk.CardChat, bizID string, data json.RawMessage) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.priorities = append(f.priorities, dingtalk.PriorityOf(ctx))
	if f.refuseSend > 0 {
		f.refuseSend--
		return "", &dingtalk.TransportError{Path: dingtalk.PathCardSend, Err: fmt.Errorf("connection reset")}
	}
	f.keys++
	f.cards[bizID] = fmt.Sprintf("key-%d", f.keys)
	if f.data == nil {
		f.data = map[string]string{}
	}
	f.data[bizID] = string(data)
	if f.loseAnswer > 0 {
		f.loseAnswer--
		return "", &dingtalk.TransportError{Path: dingtalk.PathCardSend, Err: fmt.Errorf("timeout")}
	}
	return f.cards[bizID], nil
}

func (f *fakeCards) UpdateCard(ctx context.Context, bizID string, data json.RawMessage) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.priorities = append(f.priorities, dingtalk.PriorityOf(ctx))
	key, ok := f.cards[bizID]
	if !ok || f.goneOnUpdate > 0 {
		f.goneOnUpdate = max(f.goneOnUpdate-1, 0)
		return "", &dingtalk.APIError{Path: dingtalk.PathCardUpdate, Status: 400, Code: "invalid.bizId"}
	}
	if f.data == nil {
		f.data = map[string]string{}
	}
	f.data[bizID] = string(data)
	return key, nil
}

func (f *fakeCards) SendGroup(ctx context.Context, cid string, m dingtalk.Message) (string, error) {
	return "", fmt.Errorf("not in this test")
}

func (f *fakeCards) SendOTO(ctx context.Context, user string, m dingtalk.Message) (string, error) {
	return "", fmt.Errorf("not in this test")
}

type noRecalls struct{}

func (noRecalls) Recall(ctx context.Context, req recall.Request) (*recall.Receipt, error) {
	return &recall.Receipt{}, nil
}

func newTestReconciler(t *testing.T, owner string) (*Reconciler, *ledger.Bolt, *fakeCards) {
	t.Helper()
	led, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = led.Close() })
	api := &fakeCards{cards: map[string]string{}}
	r := NewReconciler(led, api, noRecalls{}, zap.NewNop(), nil, ReconcilerConfig{Owner: owner, Locale: "en"})
	return r, led, api
}

func putGroup(t *testing.T, led ledger.Store, name string, instances ...string) string {
	t.Helper()
	n := Notification{Source: SourceAlertmanager, Receiver: "db", Status: "firing", GroupKey: `{}:{alertname="` + name + `"}`,
		GroupLabels: map[string]string{"alertname": name}}
	for _, inst := range instances {
		n.Alerts = append(n.Alerts, Alert{Status: "firing", Labels: map[string]string{"alertname": name, "instance": inst},
			Annotations: map[string]string{"summary": name + " on " + inst}, StartsAt: time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC), Fingerprint: inst})
	}
	g, err := notice(n, "db", ledger.Chat{Family: ledger.Group, ConversationID: "cidG"}, time.Now())
	if err == nil {
		g, err = led.PutAlert(context.Background(), g)
	}
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

// alertGroup reads group id of chat back from the ledger, which looks
// groups up by chat and the start of their id.
func alertGroup(ctx context.Context, led ledger.AlertStore, chat ledger.Chat, id string) (ledger.AlertGroup, error) {
	gs, err := led.ChatAlerts(ctx, chat, id)
	for _, g := range gs {
		if g.ID == id {
			return g, nil
		}
	}
	if err == nil {
		err = &ledger.NotFoundError{What: "alert group " + id}
	}
	return ledger.AlertGroup{}, err
}

// cidG is the chat of putGroup's groups.
var cidG = ledger.Chat{Family: ledger.Group, ConversationID: "cidG"}

// TestStormGoesAsBulk: every DingTalk call of the reconciler is bulk
// work, so that the client's pace lets admins' commands go first.
func TestStormGoesAsBulk(t *testing.T) {
	r, led, api := newTestReconciler(t, "me")
	for i := range 20 {
		id := putGroup(t, led, fmt.Sprintf("A%d", i), "db1")
		if err := r.work(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if len(api.priorities) != 20 {
		t.Fatalf("%d calls", len(api.priorities))
	}
	for i, p := range api.priorities {
		if p != dingtalk.Bulk {
			t.Errorf("call %d went as priority %d, not bulk", i, p)
		}
	}
}

// TestCardSendWithoutAnswer: a card send whose answer was lost is looked
// for by its cardBizId before anything else is sent: found, it becomes the
// group's message with the key the update answers; not found, a new card
// goes out. Either way the chat has one card.
func TestCardSendWithoutAnswer(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name           string
		acted, refused int
	}{{"DingTalk acted", 1, 0}, {"DingTalk did not act", 0, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			r, led, api := newTestReconciler(t, "me")
			api.loseAnswer, api.refuseSend = tc.acted, tc.refused
			id := putGroup(t, led, "DiskFull", "db1")
			if err := r.work(ctx, id); err == nil {
				t.Fatal("a send without an answer was taken for a success")
			}
			g, _ := alertGroup(ctx, led, cidG, id)
			if g.Inflight == nil || g.Entry != 0 {
				t.Fatalf("after the lost answer: %+v", g)
			}
			if err := r.work(ctx, id); err != nil {
				t.Fatal(err)
			}
			g, _ = alertGroup(ctx, led, cidG, id)
			e, _ := led.Get(ctx, g.Entry)
			if g.Due() || g.Inflight != nil || e.State != ledger.Sent || e.ProcessQueryKey == "" || len(api.cards) != 1 || g.Key != api.cards[g.Card] {
				t.Errorf("settled as %+v, entry %+v, %d cards", g, e, len(api.cards))
			}
		})
	}
}

// TestTakeOverAfterACrashMidSend: an instance that wrote a card send ahead
// and died before it heard the answer leaves the group to another, which
// finds the card by its id instead of sending a second one.
func TestTakeOverAfterACrashMidSend(t *testing.T) {
	ctx := context.Background()
	r, led, api := newTestReconciler(t, "survivor")
	id := putGroup(t, led, "DiskFull", "db1")
	if _, mine, _ := led.TakeAlert(ctx, id, ledger.Claimant{Owner: "dead", At: time.Now(), LeaseTTL: time.Hour}); !mine {
		t.Fatal("the first instance did not take the group")
	}
	g, e, err := led.StartAlertSend(ctx, id, "dead", ledger.AlertSend{Version: 1, Card: "rb-dead-1"}, ledger.Entry{Chat: ledger.Chat{Family: ledger.Group, ConversationID: "cidG"}, MsgKey: dingtalk.StandardCard})
	if err != nil {
		t.Fatal(err)
	}
	api.cards["rb-dead-1"] = "key-of-the-dead" // its call reached DingTalk
	if err := r.work(ctx, id); err != nil || len(api.cards) != 1 {
		t.Fatalf("while the dead instance's lease lives: %v, %d cards", err, len(api.cards))
	}
	if cur, _ := alertGroup(ctx, led, cidG, id); cur.Owner != "dead" {
		t.Fatalf("the group was taken from a live owner: %+v", cur)
	}
	_, _, _, _ = led.TakeTempIf(ctx, ledger.LeaseNS, "dead", func([]byte) bool { return true }) // its lease lapses
	if err := r.work(ctx, id); err != nil {
		t.Fatal(err)
	}
	g, _ = alertGroup(ctx, led, cidG, id)
	if sent, _ := led.Get(ctx, e.ID); g.Entry != e.ID || g.Key != "key-of-the-dead" || sent.State != ledger.Sent || len(api.cards) != 1 || g.Owner != "" {
		t.Errorf("after the takeover: %+v, %d cards", g, len(api.cards))
	}
}
