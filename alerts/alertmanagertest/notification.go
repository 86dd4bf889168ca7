package alertmanagertest

import (
	"encoding/json"
	"fmt"
	"time"
)

// WebhookAlert is one alert of a Notification (Alert is one posted to
// Alertmanager's own API).
type WebhookAlert struct {
	Name, Instance, Summary string
	Resolved                bool
	StartsAt                time.Time // default Epoch
}

// Epoch is when a Notification's alerts start unless they say otherwise,
// and an hour before a resolved one ends.
var Epoch = time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)

// Notification is the body of a version 4 webhook notification, as
// Alertmanager sends it to receiver, for group "alertname=name"; the group
// fires while one of as does. Tests post it to the bot without running
// Alertmanager.
func Notification(receiver, name string, as ...WebhookAlert) string {
	status := "resolved"
	var list []map[string]any
	for _, a := range as {
		st, ends := "firing", "0001-01-01T00:00:00Z"
		if a.Resolved {
			st, ends = "resolved", Epoch.Add(time.Hour).Format(time.RFC3339)
		} else {
			status = "firing"
		}
		if a.StartsAt.IsZero() {
			a.StartsAt = Epoch
		}
		list = append(list, map[string]any{"status": st, "labels": map[string]string{"alertname": name, "instance": a.Instance, "severity": "critical"},
			"annotations": map[string]string{"summary": a.Summary}, "startsAt": a.StartsAt.Format(time.RFC3339), "endsAt": ends,
			"generatorURL": "http://prometheus:9090/graph?g0.expr=up", "fingerprint": fmt.Sprintf("%016x", len(a.Instance)*7919+len(name))})
	}
	b, _ := json.Marshal(map[string]any{"version": "4", "groupKey": `{}:{alertname="` + name + `"}`, "truncatedAlerts": 0, "status": status,
		"receiver": receiver, "groupLabels": map[string]string{"alertname": name}, "commonLabels": map[string]string{"alertname": name},
		"commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager:9093", "alerts": list})
	return string(b)
}
