package app

import (
	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/alerts/alertmanager"
)

// openAlerts builds the alerts' parts: the webhook receiver (mounted on
// the HTTP API), the reconciler (run with the background loops, under the
// process's claim owner) and the chat commands' actions (given to the
// bot).
func (a *App) openAlerts(owner string, redact func(string) string) {
	c := a.Config
	log := a.Log.Named("alerts")
	metrics := alerts.NewMetrics(a.Metrics.Registry)
	a.Alerts = alerts.NewReconciler(a.Ledger, a.Client, a.Engine, a.Log, metrics,
		alerts.ReconcilerConfig{Alerts: c.Alerts, Locale: c.Locale, Owner: owner, Redact: redact, Now: a.Now})
	a.Alerts.UseSpool(a.Spool)
	a.alertsIn = &alerts.Receiver{Config: c.Alerts, Ledger: a.Ledger, Log: log, Metrics: metrics, Wake: a.Alerts.Notify, Now: a.Now}
	actions := &alerts.Actions{Config: c.Alerts, Ledger: a.Ledger, Log: log, Wake: a.Alerts.Notify, Redact: redact, Now: a.Now}
	if c.Alerts.AlertmanagerURL != "" {
		actions.Alertmanager = &alertmanager.Client{BaseURL: c.Alerts.AlertmanagerURL}
	}
	a.Bot.SetAlerts(actions, a.Alerts.Status)
}
