package alerts

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// amBody is an Alertmanager notification of group "Route" with one alert
// on db1, firing or resolved, started at start.
func amBody(resolved bool, start time.Time) []byte {
	status, ends := "firing", "0001-01-01T00:00:00Z"
	if resolved {
		status, ends = "resolved", start.Add(time.Hour).Format(time.RFC3339)
	}
	b, _ := json.Marshal(map[string]any{"version": "4", "groupKey": `{}:{alertname="Route"}`, "receiver": "db-oncall", "status": status,
		"groupLabels": map[string]string{"alertname": "Route"}, "alerts": []map[string]any{{"status": status,
			"labels": map[string]string{"alertname": "Route", "instance": "db1"}, "annotations": map[string]string{"summary": "route test"},
			"startsAt": start.Format(time.RFC3339), "endsAt": ends, "fingerprint": "f1"}}})
	return b
}

// receive posts body to rc and works every group it woke with r.
func receive(t *testing.T, rc *Receiver, r *Reconciler, body []byte) int {
	t.Helper()
	var woken []string
	rc.Wake = func(id string) { woken = append(woken, id) }
	w := serve(rc, SourceAlertmanager, body)
	for _, id := range woken {
		if err := r.work(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	return w.Code
}

// TestRouteChangeClosesTheOldChat: moved from chat A to chat B (the
// config changed, the bot restarted), a group's next notification goes to
// B, and A's message is brought to that state, says the group went
// elsewhere, and is no longer updated; B shows the group (here resolved:
// the resolved message).
func TestRouteChangeClosesTheOldChat(t *testing.T) {
	ctx := context.Background()
	r, led, api, _ := reconcilerWith(t, Config{})
	chatA, chatB := ledger.Chat{Family: ledger.Group, ConversationID: "cidA"}, ledger.Chat{Family: ledger.Group, ConversationID: "cidB"}
	rc := &Receiver{Config: Config{Routes: map[string]Target{"db-oncall": {Group: "cidA"}}}, Ledger: led, Log: zap.NewNop()}
	t0 := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	if code := receive(t, rc, r, amBody(false, t0)); code != 200 {
		t.Fatal(code)
	}
	rc = &Receiver{Config: Config{Routes: map[string]Target{"db-oncall": {Group: "cidB"}}}, Ledger: led, Log: zap.NewNop()}
	if code := receive(t, rc, r, amBody(true, t0)); code != 200 {
		t.Fatal(code)
	}
	a, _ := led.ChatAlerts(ctx, chatA, "")
	b, _ := led.ChatAlerts(ctx, chatB, "")
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("groups: %d in A, %d in B", len(a), len(b))
	}
	if text := api.text(a[0].Card); !a[0].Closed || a[0].Due() || !strings.Contains(text, "RESOLVED") || !strings.Contains(text, "another chat") {
		t.Errorf("chat A's message: %s (%+v)", text, a[0])
	}
	if text := api.text(b[0].Card); !strings.Contains(text, "RESOLVED") {
		t.Errorf("chat B's message: %q", text)
	}
}

// TestStaleNotificationIsIgnored: a firing notification that comes after
// the group resolved, saying an alert fires with the start the resolution
// ended (an older notification late: two HA peers racing, a retry), is
// answered 200 and changes nothing; the group stays resolved.
func TestStaleNotificationIsIgnored(t *testing.T) {
	ctx := context.Background()
	r, led, api, _ := reconcilerWith(t, Config{})
	rc := &Receiver{Config: Config{Routes: map[string]Target{"db-oncall": {Group: "cidG"}}}, Ledger: led, Log: zap.NewNop()}
	t0 := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	for _, b := range [][]byte{amBody(false, t0), amBody(true, t0), amBody(false, t0)} {
		if code := receive(t, rc, r, b); code != 200 {
			t.Fatalf("answered %d", code)
		}
	}
	gs, _ := led.ChatAlerts(ctx, cidG, "")
	if len(gs) != 1 || !gs[0].Closed || gs[0].Firing || !strings.Contains(api.text(gs[0].Card), "RESOLVED") {
		t.Errorf("after a stale firing notification: %+v, card %s", gs, api.text(gs[0].Card))
	}
	// A new firing (another start) is taken.
	if code := receive(t, rc, r, amBody(false, t0.Add(time.Hour))); code != 200 {
		t.Fatal(code)
	}
	if gs, _ = led.ChatAlerts(ctx, cidG, ""); !gs[0].Firing {
		t.Errorf("a new firing was taken for stale: %+v", gs[0])
	}
}
