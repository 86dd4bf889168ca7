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
// ended.
func (a *Actions) Unsilence(ctx context.Context, req ActionRequest) (string, error) {
	g, st, _, err := a.find(ctx, req)
	if err != nil {
		return "", err
	}
	if err := a.usable(st, g); err != nil {
		return "", err
	}
	live := activeSilences(g, a.now())
	if len(live) == 0 {
		return "", refuse("alert %s has no silence made from chat that is still running", "告警 %s 没有仍在生效的聊天静默", displayID(g))
	}
	var ended []string
	var failed error
	for _, s := range live {
		err := a.Alertmanager.Expire(ctx, s.ID)
		if err != nil {
			// 0.25 answers 500 for a silence it no longer has; ask what
			// became of it before calling it a failure.
			if cur, gerr := a.Alertmanager.Get(ctx, s.ID); gerr == nil && cur.Status != nil && cur.Status.State == "expired" {
				err = nil
			}
		}
		if err != nil {
			failed = err
			break
		}
		ended = append(ended, s.ID)
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
	if req.Locale == "en" {
		return fmt.Sprintf("🔔 Alert %s is no longer silenced from chat (%d silence(s) expired).", displayID(g), len(ended)), nil
	}
	return fmt.Sprintf("🔔 已取消告警 %s 的聊天静默（结束 %d 个静默）。", displayID(g), len(ended)), nil
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
	_, err := a.Ledger.AppendAudit(ctx, ledger.AuditRecord{At: a.now(), Actor: req.Who, Action: action, Allowed: true,
		Scope: "alert " + displayID(g) + " in " + req.Chat.Key(), Note: note})
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
