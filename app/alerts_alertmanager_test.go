package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/alerts/alertmanagertest"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// TestRealAlertmanager drives the bot with Debian's Alertmanager 0.25: its
// webhook receiver points at the bot with bearer credentials, alerts are
// posted to its own API, and its intervals are shortened. In both styles
// the chat shows one message for the group through its first
// notification, repeats (nothing added), a change (the card updated in
// place, or the markdown superseded), a silence made from chat (which
// Alertmanager then lists), its end, and the resolution.
func TestRealAlertmanager(t *testing.T) {
	t.Parallel()
	for _, style := range []alerts.Style{alerts.StyleCard, alerts.StyleMarkdown} {
		t.Run(string(style), func(t *testing.T) {
			t.Parallel()
			testRealAlertmanager(t, style)
		})
	}
}

func testRealAlertmanager(t *testing.T, style alerts.Style) {
	addr := freeAddr(t)
	am := alertmanagertest.Start(t, alertmanagertest.Options{WebhookURL: "http://" + addr + "/v1/alerts/alertmanager", Token: testToken, Receiver: "db-oncall"})
	h := startAlerts(t, dingtalktest.Options{}, style, func(c *config.Config) {
		c.HTTP.Listen = addr
		c.Alerts.AlertmanagerURL = am.URL
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\nalertmanager's log:\n%s\nbot's log:\n%s", append(args, am.Log(), h.logs.String())...)
	}
	// settled, with room for Alertmanager's own intervals.
	waitShown := func(want string) dingtalktest.Message {
		t.Helper()
		var ms []dingtalktest.Message
		if err := waitFor(ctx, func() bool {
			ms = h.shown()
			return len(ms) == 1 && strings.Contains(ms[0].Text, want) && h.idle()
		}); err != nil {
			fail("the chat never showed one message with %q: %q", want, texts(ms))
		}
		return ms[0]
	}
	disk := func(instance string, resolved bool) alertmanagertest.Alert {
		a := alertmanagertest.Alert{Labels: map[string]string{"alertname": "DiskFull", "instance": instance, "severity": "critical"},
			Annotations: map[string]string{"summary": "disk 95% on " + instance}, GeneratorURL: "http://prometheus:9090/graph?g0.expr=disk"}
		if resolved {
			a.EndsAt = time.Now().Add(-time.Second)
		}
		return a
	}
	sends := func() int {
		return h.srv.CountCalls(dingtalktest.PathCardSend) + h.srv.CountCalls(dingtalktest.PathGroupSend)
	}

	if err := am.Post(ctx, disk("db1", false)); err != nil {
		t.Fatal(err)
	}
	first := waitShown("disk 95% on db1")

	// Repeats: Alertmanager sends the group again every repeat_interval;
	// the chat gets nothing new.
	seen := h.groupOf().Seen
	if err := waitFor(ctx, func() bool { return h.groupOf().Seen.After(seen) }); err != nil {
		fail("no repeat came")
	}
	if ms := h.shown(); len(ms) != 1 || sends() != 1 || h.srv.CountCalls(dingtalktest.PathCardUpdate) != 0 || h.groupOf().Due() {
		fail("a repeat added to the chat: %d shown, %d sends, %d updates", len(ms), sends(), h.srv.CountCalls(dingtalktest.PathCardUpdate))
	}

	// A change: a second alert joins the group.
	if err := am.Post(ctx, disk("db2", false)); err != nil {
		t.Fatal(err)
	}
	changed := waitShown("disk 95% on db2")
	if style == alerts.StyleCard && (changed.ProcessQueryKey != first.ProcessQueryKey || changed.Updates == 0) {
		fail("the card was not updated in place: %+v", changed)
	}
	if m, _ := h.srv.Message(first.ProcessQueryKey); style == alerts.StyleMarkdown && !m.Recalled {
		fail("the superseded message is still shown")
	}

	// A silence from chat, which Alertmanager then reports; its frame
	// delivered twice, it runs once.
	id := alerts.ShortID(h.groupOf().ID)
	h.srv.DuplicateFrames(1)
	reply := h.sayIn(alertCID, admin, "/silence "+id+" 1h replacing disks")
	if !strings.Contains(reply, "Silenced alert "+id) {
		fail("the reply to /silence: %s", reply)
	}
	silences, err := am.Silences(ctx)
	if err != nil || len(silences) != 1 || silences[0].Status.State != "active" || !strings.Contains(silences[0].CreatedBy, admin) ||
		!strings.HasPrefix(silences[0].Comment, "replacing disks [recallbot ") || !sameMatchers(silences[0].Matchers, "alertname=DiskFull", "severity=critical") {
		fail("Alertmanager's silences: %+v, %v", silences, err)
	}
	waitShown("silenced")
	recs, _ := h.app.Ledger.Audit(ctx, ledger.AuditQuery{Limit: 20})
	var audited []ledger.AuditRecord
	for _, r := range recs {
		if r.Action == "alert.silence" {
			audited = append(audited, r)
		}
	}
	if len(audited) != 1 || audited[0].Actor != admin || !strings.Contains(audited[0].Note, silences[0].ID) {
		fail("the silence's audit: %+v", audited)
	}

	// Unsilenced from chat: Alertmanager reports it expired.
	if reply := h.sayIn(alertCID, responder, "/取消静默 "+id); !strings.Contains(reply, "no longer silenced") {
		fail("the reply to /unsilence: %s", reply)
	}
	if silences, _ = am.Silences(ctx); len(silences) != 1 || silences[0].Status.State != "expired" {
		fail("after /unsilence Alertmanager has %+v", silences)
	}

	// The resolution.
	if err := am.Post(ctx, disk("db1", true), disk("db2", true)); err != nil {
		t.Fatal(err)
	}
	resolved := waitShown("RESOLVED")
	if style == alerts.StyleCard && resolved.ProcessQueryKey != first.ProcessQueryKey {
		fail("the resolved card is another message")
	}
	t.Logf("%s: %d sends, %d card updates, %d recalls", style, sends(), h.srv.CountCalls(dingtalktest.PathCardUpdate), h.srv.CountCalls(dingtalktest.PathGroupRecall))
}

// sameMatchers reports whether ms are exactly the equality matchers
// want ("name=value"): the labels every alert of the group shares (the
// silence must not reach another team's alert of the same name, nor
// leave out one of the group's own).
func sameMatchers(ms []alertmanagertest.Matcher, want ...string) bool {
	got := map[string]bool{}
	for _, m := range ms {
		if m.IsRegex || (m.IsEqual != nil && !*m.IsEqual) {
			return false
		}
		got[m.Name+"="+m.Value] = true
	}
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !got[w] {
			return false
		}
	}
	return true
}
