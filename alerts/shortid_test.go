package alerts

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// putWithID records a firing group of chat cidG under id (two groups of
// one chat whose ids share their start, as 6,000 groups do now and then).
func putWithID(t *testing.T, led ledger.Store, id, name string) {
	t.Helper()
	n := Notification{Source: SourceAlertmanager, Receiver: "db", Status: "firing", GroupKey: `{}:{alertname="` + name + `"}`,
		GroupLabels: map[string]string{"alertname": name}, Alerts: []Alert{{Status: "firing", Labels: map[string]string{"alertname": name},
			StartsAt: time.Now(), Fingerprint: name}}}
	g, err := notice(n, "db", cidG, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	g.ID = id
	if _, err := led.PutAlert(context.Background(), g); err != nil {
		t.Fatal(err)
	}
}

// TestShortIDsAreUniqueInTheChat: two groups of a chat whose ids share
// their first six digits show IDs that tell them apart; each is found by
// the ID its message shows, and a group shown earlier with six digits
// keeps its ID; a start they share is refused with the IDs to type.
func TestShortIDsAreUniqueInTheChat(t *testing.T) {
	ctx := context.Background()
	r, led, api := newTestReconciler(t, "me")
	putWithID(t, led, "b30f4e11aaaaaaaaaaaaaaaaaaaaaaaa", "Latency")
	if err := r.work(ctx, "b30f4e11aaaaaaaaaaaaaaaaaaaaaaaa"); err != nil {
		t.Fatal(err)
	}
	putWithID(t, led, "b30f4e22bbbbbbbbbbbbbbbbbbbbbbbb", "DiskFull")
	putWithID(t, led, "b30f4e23cccccccccccccccccccccccc", "CPU")
	for _, id := range []string{"b30f4e22bbbbbbbbbbbbbbbbbbbbbbbb", "b30f4e23cccccccccccccccccccccccc"} {
		if err := r.work(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	shown := map[string]string{} // name -> the ID its card shows
	for _, data := range api.data {
		var c struct {
			Header struct{ Title struct{ Text string } }
		}
		_ = json.Unmarshal([]byte(data), &c)
		title := c.Header.Title.Text
		shown[strings.Fields(title)[2]] = title[strings.LastIndex(title, "#")+1:]
	}
	if shown["Latency"] != "b30f4e" || shown["DiskFull"] != "b30f4e22" || shown["CPU"] != "b30f4e23" {
		t.Fatalf("IDs shown: %v", shown)
	}
	a := &Actions{Ledger: led}
	for name, short := range shown {
		_, st, _, err := a.find(ctx, ActionRequest{Chat: cidG, Target: short})
		if err != nil || st.name() != name {
			t.Errorf("find(%s) = %s, %v; want %s", short, st.name(), err, name)
		}
	}
	_, _, _, err := a.find(ctx, ActionRequest{Chat: cidG, Target: "b30f4e2", Locale: "en"})
	if err == nil || !strings.Contains(err.Error(), "b30f4e22") || !strings.Contains(err.Error(), "b30f4e23") {
		t.Errorf("an ambiguous ID: %v", err)
	}
}
