package app_test

import (
	"github.com/recallbot/recallbot/alerts/alertmanagertest"
	"net/http"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
)

// Helpers of the alerts tests: the bot routes receiver "db-oncall" to the
// group alertCID, and these build Alertmanager's notifications as version
// 0.25 sends them.

const (
	alertCID  = "cidAlertsGroup=="
	responder = "oncall042"
)

// startAlerts runs the bot with alerts routed to alertCID in style.
func startAlerts(t *testing.T, opts dingtalktest.Options, style alerts.Style, tune ...func(*config.Config)) *harness {
	t.Helper()
	srv, err := dingtalktest.NewServer(withQPS(opts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if err := srv.AddConversation(alertCID, dingtalktest.KindGroup, "db on-call"); err != nil {
		t.Fatal(err)
	}
	return startOn(t, srv, append([]func(*config.Config){func(c *config.Config) {
		c.Alerts.Style = style
		c.Alerts.Routes = map[string]alerts.Target{"db-oncall": {Group: alertCID}, "db.oncall": {Group: alertCID}}
		c.Alerts.Responders = []string{responder}
	}}, tune...)...)
}

func withQPS(o dingtalktest.Options) dingtalktest.Options {
	if o.QPS == 0 {
		o.QPS = -1
	}
	return o
}

// amAlert, amNotification and alertsEpoch: a notification as Alertmanager
// sends it, posted without running Alertmanager (alertmanagertest).
type amAlert = alertmanagertest.WebhookAlert

var (
	amNotification = alertmanagertest.Notification
	alertsEpoch    = alertmanagertest.Epoch
)

// notifyAlerts posts a notification to the bot as Alertmanager does.
func (h *harness) notifyAlerts(source, body string) (int, map[string]any) {
	h.t.Helper()
	r, out := h.do(http.MethodPost, "/v1/alerts/"+source, testToken, body)
	return r.StatusCode, out
}

// mustNotify posts a notification and fails unless it is taken.
func (h *harness) mustNotify(body string) {
	h.t.Helper()
	if st, out := h.notifyAlerts(alerts.SourceAlertmanager, body); st != 200 {
		h.t.Fatalf("notification refused: %d %v", st, out)
	}
}

// shown is the bot's messages alertCID shows now (not recalled), oldest
// first, replies to commands left out.
func (h *harness) shown() []dingtalktest.Message {
	c, _ := h.srv.Conversation(alertCID)
	var out []dingtalktest.Message
	for _, m := range c.Messages {
		if m.FromBot() && !m.Recalled && !strings.HasPrefix(m.Text, "recallbot\n") {
			out = append(out, m)
		}
	}
	return out
}

// settled waits until no alert group has work left, and the chat shows
// exactly one message holding want; it returns that message.
func (h *harness) settled(want string) dingtalktest.Message {
	h.t.Helper()
	var ms []dingtalktest.Message
	// The chat is the emulator's (WaitUntil); whether work is left is the
	// bot's ledger, polled (waitFor).
	err := h.srv.WaitUntil(h.ctx(), func() bool {
		ms = h.shown()
		return len(ms) == 1 && strings.Contains(ms[0].Text, want)
	})
	if err == nil {
		err = waitFor(h.ctx(), func() bool {
			ms = h.shown()
			return h.idle() && len(ms) == 1 && strings.Contains(ms[0].Text, want)
		})
	}
	if err != nil {
		h.t.Fatalf("the chat never showed one message with %q: %d messages %q\nlogs:\n%s", want, len(ms), texts(ms), h.logs.String())
	}
	return ms[0]
}

// idle reports whether no alert group has work left.
func (h *harness) idle() bool {
	due, err := h.app.Ledger.DueAlerts(h.ctx(), 10)
	return err == nil && len(due) == 0
}

// groupOf is the one alert group shown in alertCID.
func (h *harness) groupOf() ledger.AlertGroup {
	h.t.Helper()
	gs, err := h.app.Ledger.ChatAlerts(h.ctx(), ledger.Chat{Family: ledger.Group, ConversationID: alertCID}, "")
	if err != nil || len(gs) != 1 {
		h.t.Fatalf("groups in the chat: %+v, %v", gs, err)
	}
	return gs[0]
}

func texts(ms []dingtalktest.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

// sayIn plays a user typing text in a group, @-mentioning the bot, and
// returns the bot's reply (its replies are titled "recallbot"; alert
// messages in the same chat are not replies).
func (h *harness) sayIn(cid, who, text string) string {
	h.t.Helper()
	replies := func() []dingtalktest.Message {
		var out []dingtalktest.Message
		for _, m := range h.botReplies(cid) {
			if strings.HasPrefix(m.Text, "recallbot\n") {
				out = append(out, m)
			}
		}
		return out
	}
	before := len(replies())
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: cid, ConversationType: "2", SenderStaffID: who, SenderNick: "Nick " + who, Text: text}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return len(replies()) > before }); err != nil {
		h.t.Fatalf("no reply to %q: %v\nlogs:\n%s", text, err, h.logs.String())
	}
	rs := replies()
	return rs[len(rs)-1].Text
}
