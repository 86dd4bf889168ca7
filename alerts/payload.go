package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/recallbot/recallbot/internal/jsonkeys"
)

// Sources of notifications.
const (
	SourceAlertmanager = "alertmanager"
	SourceGrafana      = "grafana"
)

// Notification is one webhook notification, checked: Alertmanager's
// (version "4") or Grafana's (version "1"). Every notification carries the
// group's whole state, firing and resolved alerts alike.
type Notification struct {
	Source            string            `json:"source"`
	Receiver          string            `json:"receiver"` // as sent (Alertmanager 0.25 escapes it as a regexp)
	Status            string            `json:"status"`   // firing or resolved
	GroupKey          string            `json:"groupKey"`
	GroupLabels       map[string]string `json:"groupLabels,omitempty"`
	CommonLabels      map[string]string `json:"commonLabels,omitempty"`
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
	ExternalURL       string            `json:"externalURL,omitempty"`
	Alerts            []Alert           `json:"alerts"`
	Truncated         int64             `json:"truncatedAlerts,omitempty"`
	OrgID             int64             `json:"orgId,omitempty"` // Grafana
	Title             string            `json:"title,omitempty"` // Grafana's rendered title
	// Cut: recallbot cut the notification to its limits (limits.go); the
	// message says so.
	Cut bool `json:"cut,omitempty"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint"`
	// Grafana only.
	SilenceURL   string `json:"silenceURL,omitempty"`
	DashboardURL string `json:"dashboardURL,omitempty"`
	PanelURL     string `json:"panelURL,omitempty"`
}

// Firing reports whether the alert fires.
func (a Alert) Firing() bool { return a.Status == "firing" }

// PayloadError is a body that is not a notification recallbot can read, in
// a sentence for whoever sent it.
type PayloadError struct{ Msg string }

func (e *PayloadError) Error() string { return e.Msg }

func payloadErr(format string, args ...any) error {
	return &PayloadError{Msg: fmt.Sprintf(format, args...)}
}

// wire is both payloads' shape as far as recallbot reads them; unknown
// fields are allowed (newer Alertmanagers add notification_reason,
// routeLabels; Grafana adds message, values, imageURL…).
type wire struct {
	Version           *string           `json:"version"`
	GroupKey          *string           `json:"groupKey"`
	Truncated         uint64            `json:"truncatedAlerts"`
	Receiver          *string           `json:"receiver"`
	Status            *string           `json:"status"`
	Alerts            *[]Alert          `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	OrgID             *int64            `json:"orgId"`
	Title             string            `json:"title"`
	State             *string           `json:"state"`
}

// Decode reads and checks a notification from source (SourceAlertmanager
// or SourceGrafana). Anything it refuses is a *PayloadError saying why.
func Decode(source string, body []byte) (Notification, error) {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return Notification{}, payloadErr("the body is not a JSON notification: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Notification{}, payloadErr("the body holds more than one JSON value")
	}
	want := map[string]string{SourceAlertmanager: "4", SourceGrafana: "1"}[source]
	switch {
	case w.Version == nil:
		return Notification{}, payloadErr(`"version" is missing: this is not an Alertmanager (version 4) or Grafana (version 1) webhook notification`)
	case *w.Version != want && source == SourceAlertmanager && *w.Version == "1":
		return Notification{}, payloadErr(`this is a Grafana notification (version 1): send it to /v1/alerts/grafana`)
	case *w.Version != want && source == SourceGrafana && *w.Version == "4":
		return Notification{}, payloadErr(`this is an Alertmanager notification (version 4): send it to /v1/alerts/alertmanager`)
	case *w.Version != want:
		return Notification{}, payloadErr(`"version" is %q; this endpoint reads version %q notifications`, *w.Version, want)
	case w.Receiver == nil || strings.TrimSpace(*w.Receiver) == "" || len(*w.Receiver) > maxNameLength:
		return Notification{}, payloadErr(`"receiver" is missing, empty or longer than %d bytes: recallbot routes by it`, maxNameLength)
	case w.GroupKey == nil || *w.GroupKey == "":
		return Notification{}, payloadErr(`"groupKey" is missing or empty`)
	case w.Status == nil || *w.Status != "firing" && *w.Status != "resolved":
		return Notification{}, payloadErr(`"status" must be "firing" or "resolved"`)
	case w.Alerts == nil || len(*w.Alerts) == 0:
		return Notification{}, payloadErr(`"alerts" is missing or empty: a notification carries its group's alerts`)
	case source == SourceGrafana && (w.OrgID == nil || w.State == nil):
		return Notification{}, payloadErr(`a Grafana notification carries "orgId" and "state"`)
	}
	// A key given twice is read as the later one by Go's decoder, and so
	// is "receiver" beside "Receiver": refused, as the HTTP API does.
	if err := jsonkeys.RepeatedExact(body, mapPath); err != nil {
		return Notification{}, payloadErr("the notification is ambiguous: %v", err)
	}
	n := Notification{Source: source, Receiver: *w.Receiver, Status: *w.Status, GroupKey: boundKey(*w.GroupKey), GroupLabels: w.GroupLabels,
		CommonLabels: w.CommonLabels, CommonAnnotations: w.CommonAnnotations, ExternalURL: w.ExternalURL, Alerts: *w.Alerts,
		Truncated: int64(min(w.Truncated, math.MaxInt64)), Title: w.Title}
	if w.OrgID != nil {
		n.OrgID = *w.OrgID
	}
	for i := range n.Alerts {
		if err := checkAlert(&n.Alerts[i], i); err != nil {
			return Notification{}, err
		}
	}
	n.Alerts = onePerFingerprint(n.Alerts)
	cutToLimits(&n)
	return n, nil
}

// mapPath reports whether the object at path is read into a Go map (a
// label set, annotations, Grafana's values, a field recallbot does not
// read), whose keys are taken as written: all but the notification and
// its alerts.
func mapPath(path string) bool {
	if path == "" {
		return false
	}
	rest, ok := strings.CutPrefix(path, "alerts[")
	return !ok || !strings.HasSuffix(rest, "]") || strings.ContainsAny(rest, ".[")
}

// checkAlert checks one alert and fills in its fingerprint if it has none.
func checkAlert(a *Alert, i int) error {
	switch {
	case a.Status != "firing" && a.Status != "resolved":
		return payloadErr(`alerts[%d].status must be "firing" or "resolved"`, i)
	case len(a.Labels) == 0:
		return payloadErr("alerts[%d] has no labels", i)
	case hasKey(a.Labels, ""):
		return payloadErr("alerts[%d] has a label without a name", i)
	case a.StartsAt.IsZero():
		return payloadErr("alerts[%d].startsAt is missing", i)
	}
	if a.Fingerprint == "" {
		a.Fingerprint = labelsHash(a.Labels)
	}
	if a.Firing() { // "If the end timestamp is not reached yet, do not expose it"
		a.EndsAt = time.Time{}
	}
	return nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q should be %s, not a JSON %s", typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "not valid JSON (it ends too soon)"
	}
	return err.Error()
}

// unquoteMeta undoes the regexp.QuoteMeta Alertmanager 0.25 applies to the
// receiver name in its notifications: "db\.oncall" was "db.oncall".
func unquoteMeta(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`\.+*?()|[]{}^$`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
