package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
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
	Truncated         int               `json:"truncatedAlerts,omitempty"`
	OrgID             int64             `json:"orgId,omitempty"` // Grafana
	Title             string            `json:"title,omitempty"` // Grafana's rendered title
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

// Bounds on what a notification may hold: far above what Alertmanager or
// Grafana send, low enough that nothing unbounded reaches the ledger.
const (
	maxAlerts     = 5000
	maxLabels     = 128
	maxTextBytes  = 8 << 10
	maxGroupKey   = 4 << 10
	maxNameLength = 1 << 10
)

// wire is both payloads' shape as far as recallbot reads them; unknown
// fields are allowed (newer Alertmanagers add notification_reason,
// routeLabels; Grafana adds message, values, imageURL…).
type wire struct {
	Version           *string           `json:"version"`
	GroupKey          *string           `json:"groupKey"`
	Truncated         int64             `json:"truncatedAlerts"`
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
		return Notification{}, payloadErr(`"receiver" is missing or empty: recallbot routes by it`)
	case w.GroupKey == nil || *w.GroupKey == "" || len(*w.GroupKey) > maxGroupKey:
		return Notification{}, payloadErr(`"groupKey" is missing, empty or longer than %d bytes`, maxGroupKey)
	case w.Status == nil || *w.Status != "firing" && *w.Status != "resolved":
		return Notification{}, payloadErr(`"status" must be "firing" or "resolved"`)
	case w.Alerts == nil || len(*w.Alerts) == 0:
		return Notification{}, payloadErr(`"alerts" is missing or empty: a notification carries its group's alerts`)
	case len(*w.Alerts) > maxAlerts:
		return Notification{}, payloadErr("%d alerts in one notification; at most %d (set max_alerts on the webhook)", len(*w.Alerts), maxAlerts)
	case w.Truncated < 0:
		return Notification{}, payloadErr(`"truncatedAlerts" is negative`)
	case source == SourceGrafana && (w.OrgID == nil || w.State == nil):
		return Notification{}, payloadErr(`a Grafana notification carries "orgId" and "state"`)
	}
	n := Notification{Source: source, Receiver: *w.Receiver, Status: *w.Status, GroupKey: *w.GroupKey, GroupLabels: w.GroupLabels,
		CommonLabels: w.CommonLabels, CommonAnnotations: w.CommonAnnotations, ExternalURL: w.ExternalURL, Alerts: *w.Alerts,
		Truncated: int(min(w.Truncated, 1<<30)), Title: w.Title}
	if w.OrgID != nil {
		n.OrgID = *w.OrgID
	}
	for _, m := range []map[string]string{n.GroupLabels, n.CommonLabels, n.CommonAnnotations} {
		if err := checkMap(m, "a group's labels or annotations"); err != nil {
			return Notification{}, err
		}
	}
	for i := range n.Alerts {
		if err := checkAlert(&n.Alerts[i], i); err != nil {
			return Notification{}, err
		}
	}
	return n, nil
}

// checkAlert checks one alert and fills in its fingerprint if it has none.
func checkAlert(a *Alert, i int) error {
	switch {
	case a.Status != "firing" && a.Status != "resolved":
		return payloadErr(`alerts[%d].status must be "firing" or "resolved"`, i)
	case len(a.Labels) == 0:
		return payloadErr("alerts[%d] has no labels", i)
	case a.StartsAt.IsZero():
		return payloadErr("alerts[%d].startsAt is missing", i)
	}
	if err := checkMap(a.Labels, fmt.Sprintf("alerts[%d].labels", i)); err != nil {
		return err
	}
	if err := checkMap(a.Annotations, fmt.Sprintf("alerts[%d].annotations", i)); err != nil {
		return err
	}
	if a.Fingerprint == "" {
		a.Fingerprint = labelsHash(a.Labels)
	}
	if a.Firing() { // "If the end timestamp is not reached yet, do not expose it"
		a.EndsAt = time.Time{}
	}
	return nil
}

func checkMap(m map[string]string, what string) error {
	if len(m) > maxLabels {
		return payloadErr("%s: %d entries, at most %d", what, len(m), maxLabels)
	}
	for k, v := range m {
		if k == "" || len(k) > maxNameLength || len(v) > maxTextBytes {
			return payloadErr("%s: an empty name, or a name or value too long", what)
		}
	}
	return nil
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
