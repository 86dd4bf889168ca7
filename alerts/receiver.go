package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
)

// Receiver is the webhook endpoint of Alertmanager and Grafana: POST
// /v1/alerts/alertmanager and /v1/alerts/grafana, behind the HTTP API's
// bearer token. It answers 200 once every chat's wanted state is in the
// ledger (the reconciler sends later: the answer never waits for
// DingTalk); 400 with a sentence for a body that is not a notification;
// 422 for a receiver with no route and no default; 503 when the ledger
// cannot take it, so that Alertmanager tries again.
type Receiver struct {
	Config  Config
	Ledger  ledger.AlertStore // it writes each notification with PutAlert
	Log     *zap.Logger
	Metrics *Metrics
	// Wake is told each group that has something new (the reconciler's
	// Notify); nil for none.
	Wake func(id string)
	Now  func() time.Time
	// MaxInFlight bounds the bytes of notifications read and decoded at
	// once; default 32 MiB (four of the largest). One that would pass it
	// waits up to BusyWait (default 5 s) and is then answered 503 with
	// Retry-After, which Alertmanager and Grafana retry.
	MaxInFlight int64
	BusyWait    time.Duration

	once   sync.Once
	budget *bodyBudget
}

// MaxBody bounds a notification's body: Alertmanager sends a whole group
// (max_alerts 0 means all of it).
const MaxBody = 8 << 20

// busyRetry is the Retry-After of a notification answered 503 because too
// many bytes of others are being decoded.
const busyRetry = 5 * time.Second

func (rc *Receiver) init() {
	rc.once.Do(func() {
		if rc.MaxInFlight <= 0 {
			rc.MaxInFlight = 4 * MaxBody
		}
		if rc.BusyWait <= 0 {
			rc.BusyWait = 5 * time.Second
		}
		rc.budget = newBodyBudget(rc.MaxInFlight)
	})
}

// readBody reads a notification's body within the budget of bytes in
// flight; the returned give hands them back. A body of unknown length
// takes MaxBody.
func (rc *Receiver) readBody(w http.ResponseWriter, r *http.Request) ([]byte, func(), bool) {
	rc.init()
	size := r.ContentLength
	if size < 0 || size > MaxBody {
		size = MaxBody
	}
	if !rc.budget.take(r.Context(), size, rc.BusyWait) {
		rc.Log.Warn("alert notification refused for now: too many bytes of notifications are being read at once; the sender will try again",
			zap.Int64("bytes", r.ContentLength), zap.Int64("max_in_flight", rc.MaxInFlight))
		w.Header().Set("Retry-After", strconv.Itoa(int(busyRetry.Seconds())))
		apiError(w, http.StatusServiceUnavailable, "busy", "recallbot is reading too many large notifications at once: try again shortly (Alertmanager does)")
		return nil, nil, false
	}
	give := func() { rc.budget.give(size) }
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, MaxBody)))
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		give()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			apiError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the notification is larger than %d MiB: set max_alerts on the webhook", mbe.Limit>>20))
			return nil, nil, false
		}
		apiError(w, http.StatusBadRequest, "bad_request", "the body could not be read")
		return nil, nil, false
	}
	return buf.Bytes(), give, true
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	if source != SourceAlertmanager && source != SourceGrafana {
		apiError(w, http.StatusNotFound, "not_found", "alerts are received at /v1/alerts/alertmanager and /v1/alerts/grafana")
		return
	}
	body, give, ok := rc.readBody(w, r)
	if !ok {
		return
	}
	n, err := Decode(source, body)
	body = nil
	give() // the state kept of it is bounded (limits.go); the body and its decoding were not
	if err != nil {
		rc.Metrics.notification(source, "", "bad_payload")
		rc.Log.Warn("alert notification refused", zap.String("source", source), zap.Error(err))
		apiError(w, http.StatusBadRequest, "bad_payload", err.Error())
		return
	}
	target, route, ok := rc.route(n.Receiver)
	if !ok {
		rc.Metrics.notification(source, "", "no_route")
		msg := fmt.Sprintf("receiver %q has no route in alerts.routes and there is no alerts.default: nothing was sent", unquoteMeta(n.Receiver))
		rc.Log.Warn("alert notification without a route", zap.String("receiver", n.Receiver))
		apiError(w, http.StatusUnprocessableEntity, "no_route", msg)
		return
	}
	now := rc.now()
	var ids []string
	stale := 0
	chats := target.Chats()
	for _, chat := range chats {
		g, err := notice(n, route, chat, now)
		if err == nil {
			g, err = rc.Ledger.PutAlert(r.Context(), g)
		}
		if err != nil {
			rc.Metrics.notification(source, route, "ledger_down")
			rc.Log.Error("alert notification not recorded: the ledger is unavailable; the sender will try again", zap.String("route", route), zap.Error(err))
			apiError(w, http.StatusServiceUnavailable, "ledger_unavailable", "the ledger cannot record the notification now; nothing was sent (Alertmanager tries again)")
			return
		}
		if g.Stale {
			stale++
		}
		ids = append(ids, g.ID)
	}
	if stale > 0 {
		// Older than what the group has seen (two HA peers racing, a late
		// retry): taken, so that it is not sent again, and ignored.
		rc.Log.Info("stale alert notification ignored: it says alerts fire that a later one said resolved", zap.String("route", route),
			zap.String("group", ShortID(ids[0])), zap.String("status", n.Status))
		rc.Metrics.notification(source, route, "stale")
	} else {
		moved := rc.moveAway(r.Context(), n, route, chats)
		ids = append(ids, moved...)
		rc.Metrics.notification(source, route, "taken")
	}
	for _, id := range ids {
		if rc.Wake != nil {
			rc.Wake(id)
		}
	}
	short := make([]string, len(chats))
	for i := range chats {
		short[i] = ShortID(ids[i])
	}
	writeJSON(w, http.StatusOK, api.AlertsTaken{Route: route, Groups: short, Status: n.Status})
}

// route finds a receiver's target: by its name as sent, or as it was
// before Alertmanager 0.25 escaped it.
func (rc *Receiver) route(receiver string) (Target, string, bool) {
	if t, ok := rc.Config.Routes[receiver]; ok {
		return t, receiver, true
	}
	return rc.Config.route(unquoteMeta(receiver))
}

func (rc *Receiver) now() time.Time {
	if rc.Now != nil {
		return rc.Now()
	}
	return time.Now()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers with the HTTP API's error envelope. Its sentences stay
// English, whatever the bot's locale: only a program reads them
// (Alertmanager and Grafana log a refused notification for whoever runs
// them), so the answer says it is English rather than the bot's language.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Language", "en")
	writeJSON(w, status, &api.Error{Status: status, Code: code, Message: strings.TrimSpace(msg)})
}
