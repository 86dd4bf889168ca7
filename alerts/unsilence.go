package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/alerts/alertmanager"
	"github.com/recallbot/recallbot/ledger"
)

// Unsilence expires the silences made from chat for a group that have not
// ended: those the ledger recorded and any other that carries the group's
// marker in Alertmanager (one whose creation got no answer). The reply
// then says whether the group is silenced still, by silences made
// elsewhere (Alertmanager's UI, another chat): "no longer silenced" only
// when it is not.
func (a *Actions) Unsilence(ctx context.Context, req ActionRequest) (string, error) {
	g, st, _, err := a.find(ctx, req)
	if err != nil {
		return "", err
	}
	if err := a.usable(st, g); err != nil {
		return "", err
	}
	var ids []string
	for _, s := range activeSilences(g, a.now()) {
		ids = append(ids, s.ID)
	}
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	hidden, err := a.marked(lctx, g, st)
	if err != nil && len(ids) == 0 {
		return "", a.amRefusal(err)
	}
	for _, s := range hidden {
		if !slices.Contains(ids, s.ID) {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		if others, _ := a.covering(lctx, st, nil); len(others) > 0 {
			return "", &Refusal{
				En: fmt.Sprintf("alert %s has no silence made from chat; it is silenced in Alertmanager by %s: end those there", displayID(g), a.describe(others, "en")),
				Zh: fmt.Sprintf("告警 %s 没有聊天中创建的静默；它在 Alertmanager 中被以下静默屏蔽：%s，请在 Alertmanager 中结束", displayID(g), a.describe(others, "zh"))}
		}
		return "", refuse("alert %s has no silence made from chat that is still running", "告警 %s 没有仍在生效的聊天静默", displayID(g))
	}
	var ended []string
	var failed error
	for _, id := range ids {
		err := a.Alertmanager.Expire(ctx, id)
		if err != nil {
			// 0.25 answers 500 for a silence it no longer has; ask what
			// became of it before calling it a failure.
			if cur, gerr := a.Alertmanager.Get(ctx, id); gerr == nil && cur.Status != nil && cur.Status.State == "expired" {
				err = nil
			}
		}
		if err != nil {
			failed = err
			break
		}
		ended = append(ended, id)
	}
	if len(ended) > 0 {
		_, uerr := a.Ledger.UpdateAlert(ctx, g.ID, "", nil, func(g *ledger.AlertGroup) error {
			g.Silences = slices.DeleteFunc(g.Silences, func(s ledger.AlertSilence) bool { return slices.Contains(ended, s.ID) })
			g.Version++
			return nil
		})
		if uerr != nil {
			return "", fmt.Errorf("recording the unsilence: %w", uerr)
		}
		a.audit(ctx, req, g, "alert.unsilence", "expired "+strings.Join(ended, ", "))
		a.wake(g.ID)
	}
	if failed != nil {
		return "", a.amRefusal(failed)
	}
	others, oerr := a.covering(lctx, st, ended)
	switch {
	case oerr != nil && req.Locale == "en":
		return fmt.Sprintf("🔔 Ended %d silence(s) made from chat for alert %s; whether other silences in Alertmanager still silence it could not be checked.", len(ended), displayID(g)), nil
	case oerr != nil:
		return fmt.Sprintf("🔔 已结束告警 %s 的 %d 个聊天静默；无法确认 Alertmanager 中是否还有其他静默。", displayID(g), len(ended)), nil
	case len(others) > 0 && req.Locale == "en":
		return fmt.Sprintf("🔕 Ended %d silence(s) made from chat for alert %s, but it is still silenced in Alertmanager by %s.", len(ended), displayID(g), a.describe(others, "en")), nil
	case len(others) > 0:
		return fmt.Sprintf("🔕 已结束告警 %s 的 %d 个聊天静默，但它仍被 Alertmanager 中的静默屏蔽：%s。", displayID(g), len(ended), a.describe(others, "zh")), nil
	case req.Locale == "en":
		return fmt.Sprintf("🔔 Alert %s is no longer silenced (%d silence(s) made from chat expired).", displayID(g), len(ended)), nil
	}
	return fmt.Sprintf("🔔 告警 %s 已不再静默（结束了 %d 个聊天静默）。", displayID(g), len(ended)), nil
}

// amRefusal says what went wrong with Alertmanager, in words.
func (a *Actions) amRefusal(err error) error {
	a.Log.Warn("alertmanager refused or could not be reached", zap.Error(err))
	var ae *alertmanager.Error
	if errors.As(err, &ae) {
		return refuse("Alertmanager refused: %s. Nothing was changed", "Alertmanager 拒绝了请求：%s。未做任何更改", cut(ae.Message, 200))
	}
	return refuse("Alertmanager (%s) could not be reached: nothing was changed. Try again in a minute, or use the message's Silence link",
		"无法连接 Alertmanager（%s）：未做任何更改。请稍后重试，或使用消息中的静默链接", a.Alertmanager.BaseURL)
}

func (a *Actions) audit(ctx context.Context, req ActionRequest, g ledger.AlertGroup, action, note string) {
	where := req.Chat // the chat as facts: named in words when read
	_, err := a.Ledger.AppendAudit(ctx, ledger.AuditRecord{At: a.now(), Actor: req.Who, Action: action, Allowed: true,
		About: &ledger.AuditAbout{Alert: displayID(g), Chat: &where}, Note: note}) // the scope in words when read
	if err != nil {
		a.Log.Error("an alert command was not audited", zap.String("action", action), zap.Error(err))
	}
}

func (a *Actions) wake(id string) {
	if a.Wake != nil {
		a.Wake(id)
	}
}

func (a *Actions) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Actions) redact(s string) string {
	if a.Redact != nil {
		return a.Redact(s)
	}
	return s
}
