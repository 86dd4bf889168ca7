package alerts

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// bigNotification is a notification of n alerts whose first alert has
// labels labels (besides alertname) and a summary of summary.
func bigNotification(n int, labels map[string]string, summary string) []byte {
	var alerts []map[string]any
	for i := range n {
		l := map[string]string{"alertname": "Big", "instance": fmt.Sprintf("h%05d", i)}
		a := map[string]string{"summary": fmt.Sprintf("alert %d", i)}
		if i == 0 {
			for k, v := range labels {
				l[k] = v
			}
			if summary != "" {
				a["summary"] = summary
			}
		}
		status := "firing"
		if i%2 == 1 {
			status = "resolved"
		}
		alerts = append(alerts, map[string]any{"status": status, "labels": l, "annotations": a, "startsAt": "2026-11-30T07:00:00Z",
			"endsAt": "2026-11-30T08:00:00Z", "fingerprint": fmt.Sprintf("%016x", i)})
	}
	b, _ := json.Marshal(map[string]any{"version": "4", "groupKey": `{}:{alertname="Big"}`, "receiver": "db", "status": "firing",
		"groupLabels": map[string]string{"alertname": "Big"}, "alerts": alerts})
	return b
}

// TestDecodeCutsWhatIsTooLarge: a notification past recallbot's limits is
// taken, not refused (Alertmanager would drop a 400 for good): past 5,000
// alerts the firing ones are kept first and the rest counted as
// truncated; a value past 8 KiB, a name past 1 KiB, labels or
// annotations past 128 are cut; the group keeps its identity and status,
// and its message says it was cut.
func TestDecodeCutsWhatIsTooLarge(t *testing.T) {
	n, err := Decode(SourceAlertmanager, bigNotification(6000, nil, ""))
	if err != nil {
		t.Fatalf("6,000 alerts: %v", err)
	}
	firing := 0
	for _, a := range n.Alerts {
		if a.Firing() {
			firing++
		}
	}
	if len(n.Alerts) != 5000 || firing != 3000 || n.Truncated != 1000 || !n.Cut || n.Status != "firing" {
		t.Errorf("6,000 alerts: %d kept (%d firing), %d truncated, cut %v", len(n.Alerts), firing, n.Truncated, n.Cut)
	}

	many := map[string]string{}
	for i := range 200 {
		many[fmt.Sprintf("l%03d", i)] = "v"
	}
	many["severity"] = "critical"
	long := strings.Repeat("x", 2000)
	many[long] = "a label with a long name"
	many["big"] = strings.Repeat("界", 5000) // 15,000 bytes
	n, err = Decode(SourceAlertmanager, bigNotification(2, many, strings.Repeat("s", 20000)))
	if err != nil {
		t.Fatalf("200 labels, a long name and long values: %v", err)
	}
	l := n.Alerts[0].Labels
	if len(l) != maxLabels || l["alertname"] != "Big" || l["severity"] != "critical" || l["instance"] != "h00000" || !n.Cut {
		t.Errorf("labels kept: %d, alertname %q, severity %q, instance %q, cut %v", len(l), l["alertname"], l["severity"], l["instance"], n.Cut)
	}
	for k, v := range l {
		if len(k) > maxNameLength || len(v) > maxTextBytes || !utf8Valid(k+v) {
			t.Errorf("label %.20q=%.20q is %d+%d bytes", k, v, len(k), len(v))
		}
	}
	if s := n.Alerts[0].Annotations["summary"]; len(s) > maxTextBytes || !strings.HasPrefix(s, "sss") {
		t.Errorf("summary of %d bytes", len(s))
	}

	// The group's identity survives a group key past its bound, and two
	// such keys that differ only at their end stay two groups.
	key := `{}:{alertname="` + strings.Repeat("k", 5000)
	one := strings.Replace(string(bigNotification(1, nil, "")), `{}:{alertname=\"Big\"}`, strings.ReplaceAll(key, `"`, `\"`)+`1\"}`, 1)
	two := strings.Replace(one, `1\"}`, `2\"}`, 1)
	a, err1 := Decode(SourceAlertmanager, []byte(one))
	b, err2 := Decode(SourceAlertmanager, []byte(two))
	chat := ledger.Chat{Family: ledger.Group, ConversationID: "c"}
	if err1 != nil || err2 != nil || len(a.GroupKey) > maxGroupKey || GroupID(a, chat) == GroupID(b, chat) {
		t.Errorf("long group keys: %v, %v, %d bytes, ids %s %s", err1, err2, len(a.GroupKey), GroupID(a, chat), GroupID(b, chat))
	}

	// The message says so.
	m := draw(newState(n, "db"), ledger.AlertGroup{ID: "a1b2c3d4"}, drawing{Locale: "en", MaxAlerts: 10, Now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)})
	if !strings.Contains(m.Markdown, "cut to recallbot's limits") {
		t.Errorf("the message does not say the notification was cut:\n%.600s", m.Markdown)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestDecodeRefusesRepeatedKeys: a key given twice (or in another case:
// Go's decoder matches "Receiver" to receiver and lets the later win) is
// refused with a sentence; in a label set, where keys are case-sensitive,
// "env" and "Env" are two labels.
func TestDecodeRefusesRepeatedKeys(t *testing.T) {
	ok := `{"version":"4","groupKey":"k","receiver":"r","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-30T07:00:00Z"}]}`
	for _, body := range []string{
		strings.Replace(ok, `"receiver":"r"`, `"receiver":"r","receiver":"other"`, 1),
		strings.Replace(ok, `"receiver":"r"`, `"receiver":"r","Receiver":"other"`, 1),
		strings.Replace(ok, `"labels":{"a":"b"}`, `"labels":{"a":"b","a":"c"}`, 1),
		strings.Replace(ok, `"status":"firing","labels"`, `"status":"firing","STATUS":"resolved","labels"`, 1),
	} {
		_, err := Decode(SourceAlertmanager, []byte(body))
		if _, ok := err.(*PayloadError); !ok || !strings.Contains(err.Error(), "twice") {
			t.Errorf("Decode(%s) = %v, want a PayloadError about a key given twice", body, err)
		}
	}
	n, err := Decode(SourceAlertmanager, []byte(strings.Replace(ok, `"labels":{"a":"b"}`, `"labels":{"env":"b","Env":"c"}`, 1)))
	if err != nil || len(n.Alerts[0].Labels) != 2 {
		t.Errorf("labels env and Env: %+v, %v", n.Alerts, err)
	}
}

// TestDecodeCountsAnAlertOnce: an alert listed several times in one
// notification (one fingerprint) is one alert; a resolved copy does not
// hide a firing one.
func TestDecodeCountsAnAlertOnce(t *testing.T) {
	a := `{"status":"%s","labels":{"alertname":"X","i":"1"},"startsAt":"2026-11-30T07:00:00Z","fingerprint":"f1"}`
	body := `{"version":"4","groupKey":"k","receiver":"r","status":"firing","alerts":[` + fmt.Sprintf(a, "resolved") + "," + fmt.Sprintf(a, "firing") + "," + fmt.Sprintf(a, "firing") + `]}`
	n, err := Decode(SourceAlertmanager, []byte(body))
	if err != nil || len(n.Alerts) != 1 || !n.Alerts[0].Firing() {
		t.Fatalf("three copies: %+v, %v", n.Alerts, err)
	}
	m := draw(newState(n, "db"), ledger.AlertGroup{ID: "a1b2c3d4"}, drawing{Locale: "en", MaxAlerts: 10, Now: time.Now()})
	if !strings.Contains(m.Markdown, "1 firing") {
		t.Errorf("three copies of one alert:\n%s", m.Markdown)
	}
}

// TestTruncatedCountIsTheRealOne: Alertmanager's truncatedAlerts is shown
// as sent, however large, not cut to some other number.
func TestTruncatedCountIsTheRealOne(t *testing.T) {
	body := `{"version":"4","groupKey":"k","receiver":"r","status":"firing","truncatedAlerts":4611686018427387904,"alerts":[{"status":"firing","labels":{"alertname":"X"},"startsAt":"2026-11-30T07:00:00Z"}]}`
	n, err := Decode(SourceAlertmanager, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m := draw(newState(n, "db"), ledger.AlertGroup{ID: "a1b2c3d4"}, drawing{Locale: "en", MaxAlerts: 10, Now: time.Now()})
	if !strings.Contains(m.Markdown, "and 4611686018427387904 more") {
		t.Errorf("2^62 truncated alerts:\n%s", m.Markdown)
	}
}
