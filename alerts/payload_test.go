package alerts

import (
	"os"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRecordedNotifications(t *testing.T) {
	n, err := Decode(SourceAlertmanager, readFile(t, "alertmanager-0.25-firing.json"))
	if err != nil || n.Receiver != `db\.oncall` || len(n.Alerts) != 1 || !n.Alerts[0].Firing() || !n.Alerts[0].EndsAt.IsZero() || n.GroupKey != `{}:{alertname="DiskFull"}` {
		t.Fatalf("alertmanager: %+v, %v", n, err)
	}
	if unquoteMeta(n.Receiver) != "db.oncall" {
		t.Errorf("unquoteMeta(%q) = %q", n.Receiver, unquoteMeta(n.Receiver))
	}
	g, err := Decode(SourceGrafana, readFile(t, "grafana-firing.json"))
	if err != nil || g.OrgID != 1 || len(g.Alerts) != 2 || g.Alerts[0].PanelURL == "" || g.Alerts[0].SilenceURL == "" || g.Title == "" {
		t.Fatalf("grafana: %+v, %v", g, err)
	}
	// A Grafana repeat moves the values and the dashboards' time range:
	// what the chat must show is the same.
	r, _ := Decode(SourceGrafana, readFile(t, "grafana-repeat.json"))
	if newState(g, "x").Hash() != newState(r, "x").Hash() {
		t.Error("a Grafana repeat hashes as a change")
	}
	res, _ := Decode(SourceGrafana, readFile(t, "grafana-resolved.json"))
	if newState(res, "x").Firing() || newState(g, "x").Hash() == newState(res, "x").Hash() {
		t.Error("the resolution is not a change")
	}
}

func TestDecodeRefusesWithASentence(t *testing.T) {
	ok := `{"version":"4","groupKey":"k","receiver":"r","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-30T07:00:00Z"}]}`
	if _, err := Decode(SourceAlertmanager, []byte(ok)); err != nil {
		t.Fatalf("a minimal notification: %v", err)
	}
	for _, tc := range []struct{ source, body, want string }{
		{SourceAlertmanager, ``, "empty"},
		{SourceAlertmanager, `{"version":`, "not valid JSON"},
		{SourceAlertmanager, `[]`, "not a JSON notification"},
		{SourceAlertmanager, ok + ok, "more than one"},
		{SourceAlertmanager, strings.Replace(ok, `"version":"4",`, ``, 1), `"version" is missing`},
		{SourceAlertmanager, strings.Replace(ok, `"4"`, `"1"`, 1), "/v1/alerts/grafana"},
		{SourceGrafana, ok, "/v1/alerts/alertmanager"},
		{SourceAlertmanager, strings.Replace(ok, `"4"`, `"3"`, 1), `reads version "4"`},
		{SourceAlertmanager, strings.Replace(ok, `"receiver":"r"`, `"receiver":""`, 1), `"receiver"`},
		{SourceAlertmanager, strings.Replace(ok, `"groupKey":"k",`, ``, 1), `"groupKey"`},
		{SourceAlertmanager, strings.Replace(ok, `"status":"firing","alerts"`, `"status":"burning","alerts"`, 1), `"status"`},
		{SourceAlertmanager, strings.Replace(ok, `[{"status"`, `[], "x":[{"status"`, 1), `"alerts" is missing or empty`},
		{SourceAlertmanager, strings.Replace(ok, `"labels":{"a":"b"}`, `"labels":{}`, 1), "has no labels"},
		{SourceAlertmanager, strings.Replace(ok, `,"startsAt":"2026-11-30T07:00:00Z"`, ``, 1), "startsAt is missing"},
		{SourceAlertmanager, strings.Replace(ok, `"labels":{"a":"b"}`, `"labels":{"a":7}`, 1), "should be string"},
		{SourceAlertmanager, strings.Replace(ok, `"2026-11-30T07:00:00Z"`, `"yesterday"`, 1), "yesterday"},
		{SourceGrafana, strings.Replace(ok, `"4"`, `"1"`, 1), `"orgId" and "state"`},
	} {
		_, err := Decode(tc.source, []byte(tc.body))
		var pe *PayloadError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !asPayload(err, &pe) {
			t.Errorf("Decode(%s, %.60q) = %v, want a PayloadError with %q", tc.source, tc.body, err, tc.want)
		}
	}
}

func asPayload(err error, pe **PayloadError) bool {
	p, ok := err.(*PayloadError)
	*pe = p
	return ok
}

func TestUnquoteMeta(t *testing.T) {
	for in, want := range map[string]string{`db\.oncall`: "db.oncall", `team\-a`: `team\-a`, `a\+b\(c\)`: "a+b(c)", `plain`: "plain", `end\`: `end\`, `x\\y`: `x\y`} {
		if got := unquoteMeta(in); got != want {
			t.Errorf("unquoteMeta(%q) = %q, want %q", in, got, want)
		}
	}
}
