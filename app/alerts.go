package app

import (
	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/alerts/alertmanager"
)

// buildAlerts builds the alerts' parts: the reconciler (a.Alerts, run
// with the background work, under the process's claim owner), the webhook
// receiver (mounted on the HTTP API) and the chat commands' actions
// (given to the bot).
func (a *App) buildAlerts(owner string, redact func(string) string) (*alerts.Receiver, *alerts.Actions) {
	c := a.Config
	log := a.Log.Named("alerts")
	metrics := alerts.NewMetrics(a.Metrics.Registry)
	a.Alerts = alerts.NewReconciler(a.Ledger, a.Client, a.Engine, a.Log, metrics,
		alerts.ReconcilerConfig{Alerts: c.Alerts, Locale: c.Locale, Owner: owner, Redact: redact, Spool: a.Spool, Now: a.now})
	receiver := &alerts.Receiver{Config: c.Alerts, Ledger: a.Ledger, Log: log, Metrics: metrics, Wake: a.Alerts.Notify, Now: a.now}
	actions := &alerts.Actions{Config: c.Alerts, Ledger: a.Ledger, Log: log, Wake: a.Alerts.Notify, Redact: redact, Now: a.now}
	if c.Alerts.AlertmanagerURL != "" {
		actions.Alertmanager = &alertmanager.Client{BaseURL: c.Alerts.AlertmanagerURL}
	}
	return receiver, actions
}
