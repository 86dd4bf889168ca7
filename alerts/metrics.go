package alerts

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count notifications and what became of them in chat, per
// route. A nil *Metrics counts nothing.
type Metrics struct {
	notifications *prometheus.CounterVec
	messages      *prometheus.CounterVec
}

// Message outcomes counted by recallbot_alert_messages_total.
const (
	outcomeSent       = "sent"       // a new message (a group's first, or after it resolved)
	outcomeUpdated    = "updated"    // a card updated in place
	outcomeSuperseded = "superseded" // a new message sent to replace the current one
	outcomeRecalled   = "recalled"   // a superseded or resolved message taken back
	outcomeFailed     = "failed"     // DingTalk refused a send or an update for good
)

// NewMetrics registers the alerts' metrics on reg (the bot's registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recallbot_alert_notifications_total",
			Help: "Alert notifications received, by source (alertmanager, grafana), route and result (taken, bad_payload, no_route, ledger_down)."},
			[]string{"source", "route", "result"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recallbot_alert_messages_total",
			Help: "What alert groups' messages went through, by route and outcome (sent, updated, superseded, recalled, failed)."},
			[]string{"route", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.notifications, m.messages)
	}
	return m
}

func (m *Metrics) notification(source, route, result string) {
	if m != nil {
		m.notifications.WithLabelValues(source, route, result).Inc()
	}
}

func (m *Metrics) message(route, outcome string, n int) {
	if m != nil && n > 0 {
		m.messages.WithLabelValues(route, outcome).Add(float64(n))
	}
}
