package httpapi

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recallbot/recallbot/ledger"
)

// Metrics are recallbot's Prometheus metrics, on a registry of their own.
// A nil *Metrics records nothing.
type Metrics struct {
	Registry   *prometheus.Registry
	sent       *prometheus.CounterVec
	outcomes   *prometheus.CounterVec
	apiCalls   *prometheus.CounterVec
	apiSeconds *prometheus.HistogramVec
	commands   *prometheus.CounterVec
	cmdSeconds *prometheus.HistogramVec
	httpDenied prometheus.Counter
	autoRecall *prometheus.CounterVec
}

// MetricsConfig says where the gauges read at every scrape come from; each
// unset one is left out.
type MetricsConfig struct {
	// LedgerCounts gives recallbot_ledger_entries and recallbot_ledger_up.
	LedgerCounts func(context.Context) (ledger.Counts, error)
	// Connected gives recallbot_stream_connected (1 while up).
	Connected func() bool
	// SpoolWaiting gives recallbot_spool_waiting (keys DingTalk returned
	// that wait in the local spool for the ledger), SpoolHeld
	// recallbot_spool_held (those of them only in memory: alert on it).
	SpoolWaiting, SpoolHeld func() int
	// Version and Revision give recallbot_build_info{version,revision} 1:
	// which build runs, for a dashboard or an alert on a mixed fleet.
	Version, Revision string
}

// NewMetrics registers the metrics.
func NewMetrics(cfg MetricsConfig) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recallbot_messages_sent_total", Help: "Send calls, by API family and result (ok, failed)."}, []string{"family", "result"})
	m.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recallbot_recall_outcomes_total", Help: "Messages by recall outcome (recalled, too_old, failed, ...)."}, []string{"outcome"})
	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recallbot_dingtalk_api_calls_total", Help: "DingTalk OpenAPI calls by API path and HTTP status (0: no answer)."}, []string{"api", "status"})
	m.apiSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "recallbot_dingtalk_api_call_seconds", Help: "DingTalk OpenAPI call latency.", Buckets: prometheus.DefBuckets}, []string{"api"})
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recallbot_commands_total", Help: "Chat commands by verb and outcome (ok, usage, denied, error, ledger_down, reply_failed, not_text, not_command; verb duplicate, outcome ignored, for redeliveries; verb none, outcome over_budget, for commands dropped over a sender's budget)."}, []string{"verb", "outcome"})
	m.cmdSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "recallbot_command_seconds", Help: "Time from a command's arrival to its reply.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"verb"})
	m.httpDenied = prometheus.NewCounter(prometheus.CounterOpts{Name: "recallbot_http_unauthorized_total", Help: "Local HTTP API requests refused for a missing or wrong token."})
	m.autoRecall = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recallbot_auto_recalls_total", Help: "Automatic recall decisions by rule and mode (enforce, observe)."}, []string{"rule", "mode"})
	m.Registry.MustRegister(m.sent, m.outcomes, m.apiCalls, m.apiSeconds, m.commands, m.cmdSeconds, m.httpDenied, m.autoRecall)
	if ledgerCounts := cfg.LedgerCounts; ledgerCounts != nil {
		m.Registry.MustRegister(ledgerCollector{counts: ledgerCounts,
			desc: prometheus.NewDesc("recallbot_ledger_entries", "Ledger entries by state.", []string{"state"}, nil),
			up:   prometheus.NewDesc("recallbot_ledger_up", "1 if the ledger answered this scrape's count of entries, 0 if not.", nil, nil)})
	}
	if cfg.Connected != nil {
		m.watchConnected(cfg.Connected)
	}
	if cfg.SpoolWaiting != nil && cfg.SpoolHeld != nil {
		m.watchSpool(cfg.SpoolWaiting, cfg.SpoolHeld)
	}
	if cfg.Version != "" {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recallbot_build_info",
			Help:        "Always 1; its labels are the version and the git revision of the running binary.",
			ConstLabels: prometheus.Labels{"version": cfg.Version, "revision": cfg.Revision}}, func() float64 { return 1 }))
	}
	return m
}

// Sent counts one send.
func (m *Metrics) Sent(family ledger.Family, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.sent.WithLabelValues(string(family), result).Inc()
}

// Outcome counts recall outcomes.
func (m *Metrics) Outcome(outcome string, n int) {
	if m != nil {
		m.outcomes.WithLabelValues(outcome).Add(float64(n))
	}
}

// APICall counts one DingTalk call.
func (m *Metrics) APICall(path string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.apiCalls.WithLabelValues(path, strconv.Itoa(status)).Inc()
	m.apiSeconds.WithLabelValues(path).Observe(d.Seconds())
}

// watchConnected exports f as recallbot_stream_connected (1 while up).
func (m *Metrics) watchConnected(f func() bool) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recallbot_stream_connected", Help: "1 while the Stream connection is up."}, func() float64 {
		if f() {
			return 1
		}
		return 0
	}))
}

// watchSpool exports waiting as recallbot_spool_waiting and held as
// recallbot_spool_held.
func (m *Metrics) watchSpool(waiting, held func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recallbot_spool_waiting",
		Help: "Spool records (keys DingTalk returned while the ledger could not take them) waiting to be replayed into the ledger."},
		func() float64 { return float64(waiting()) }))
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recallbot_spool_held",
		Help: "Spool records held in memory because the spool's disk failed too; lost if the process stops before they are written."},
		func() float64 { return float64(held()) }))
}

// AutoRecall counts one automatic recall decision.
func (m *Metrics) AutoRecall(rule, mode string) {
	if m != nil {
		m.autoRecall.WithLabelValues(rule, mode).Inc()
	}
}

// Command counts one chat command.
func (m *Metrics) Command(verb, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.commands.WithLabelValues(verb, outcome).Inc()
	if d > 0 {
		m.cmdSeconds.WithLabelValues(verb).Observe(d.Seconds())
	}
}

// ledgerCollector reads the ledger's counts at each scrape. A ledger that
// does not answer yields recallbot_ledger_up 0 and no counts, never a
// failed scrape: an outage is exactly when the spool's gauges must be read.
type ledgerCollector struct {
	counts   func(context.Context) (ledger.Counts, error)
	desc, up *prometheus.Desc
}

func (c ledgerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.up }

func (c ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.counts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, st := range ledger.States {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
