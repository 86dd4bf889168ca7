package alerts

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/alerts/alertmanager"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// madeAnyway is what became of a silence whose creation failed with err:
// if Alertmanager may have made it (no answer in time, a 5xx), it is
// looked for by its marker, and its ID returned if it is there. Otherwise
// the error says, in words, what is known: nothing was made, or it is
// not known whether it was.
func (a *Actions) madeAnyway(ctx context.Context, first alertmanager.Matcher, mark string, err error, g ledger.AlertGroup) (string, error) {
	if !alertmanager.Unsure(err) {
		return "", a.amRefusal(err)
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
	defer cancel()
	found, ok, lerr := a.findMarked(lctx, first, mark)
	switch {
	case lerr != nil:
		a.Log.Warn("a silence's creation got no answer, and Alertmanager could not be asked whether it made it", zap.Error(errors.Join(err, lerr)))
		return "", refuse("Alertmanager (%s) did not answer in time, nor afterwards whether it made the silence: it may have. `/unsilence %s` ends it if it did; try again in a minute",
			"Alertmanager（%s）未及时应答，之后也无法确认是否已创建静默：可能已创建。如已创建，发送 `/取消静默 %s` 可结束；请稍后重试", a.Alertmanager.BaseURL, displayID(g))
	case !ok:
		return "", a.amRefusal(err)
	}
	a.Log.Info("a silence whose creation got no answer in time was found in Alertmanager and is recorded", zap.String("silence", found.ID))
	return found.ID, nil
}

// ActionsLedger is what the chat actions read and write: the groups shown
// in a chat and their silences (AlertStore), and the audit trail
// (AuditStore).
type ActionsLedger interface {
	ledger.AlertStore
	ledger.AuditStore
}

// Actions carries out the alert commands typed in chat: /silence, /ack and
// /unsilence, through Alertmanager's API v2. Each is all or nothing: a
// silence Alertmanager made is expired again if the ledger cannot record
// it, and nothing is recorded that Alertmanager did not do.
type Actions struct {
	Config Config
	Ledger ActionsLedger
	// Alertmanager is nil when alerts.alertmanager_url is not set.
	Alertmanager *alertmanager.Client
	Log          *zap.Logger
	// Wake tells the reconciler a group's message must change.
	Wake   func(id string)
	Redact func(string) string
	Now    func() time.Time
}

// ActionRequest is one command about one alert group, typed in a chat.
type ActionRequest struct {
	Chat     ledger.Chat
	Target   string        // the group's short ID, with -N for its Nth alert
	Duration time.Duration // for /silence
	Comment  string
	Who      string // the staffId
	Nick     string // as DingTalk names them
	Locale   string
}

// Refusal is a command that cannot be carried out, in a sentence for the
// person who typed it; nothing was done.
type Refusal struct{ En, Zh string }

func (e *Refusal) Error() string { return e.En }

// In returns the sentence in locale ("en", or Chinese otherwise).
func (e *Refusal) In(locale string) string {
	if locale == "en" {
		return e.En
	}
	return e.Zh
}

func refuse(en, zh string, args ...any) error {
	return &Refusal{En: fmt.Sprintf(en, args...), Zh: fmt.Sprintf(zh, args...)}
}

var targetShape = regexp.MustCompile(`^([0-9a-fA-F]{4,32})(?:[-#.](\d{1,4}))?$`)

// find resolves a request's target to one group of the chat and, with
// -N, one of its alerts (1-based; 0 for the whole group).
func (a *Actions) find(ctx context.Context, req ActionRequest) (ledger.AlertGroup, State, int, error) {
	m := targetShape.FindStringSubmatch(req.Target)
	if m == nil {
		return ledger.AlertGroup{}, State{}, 0, refuse("%q is not an alert ID: use the ID the alert's message shows, e.g. a1b2c3 (or a1b2c3-2 for its second alert)",
			"%q 不是告警 ID：请使用告警消息中显示的 ID，例如 a1b2c3（第 2 条告警用 a1b2c3-2）", req.Target)
	}
	typed := strings.ToLower(m[1])
	gs, err := a.Ledger.ChatAlerts(ctx, req.Chat, typed)
	if err != nil {
		return ledger.AlertGroup{}, State{}, 0, err
	}
	g, ok := pick(gs, typed)
	switch {
	case len(gs) == 0:
		return ledger.AlertGroup{}, State{}, 0, refuse("there is no alert %s in this chat", "本会话中没有告警 %s", m[1])
	case !ok:
		ids := strings.Join(longer(gs, typed), ", ")
		return ledger.AlertGroup{}, State{}, 0, refuse("several alert groups here start with %s (%s): type one of these IDs", "本会话中有多个告警组以 %s 开头（%s）：请输入其中一个 ID", m[1], ids)
	}
	st, err := stateOf(g)
	if err != nil {
		return ledger.AlertGroup{}, State{}, 0, err
	}
	n := 0
	if m[2] != "" {
		n, _ = strconv.Atoi(m[2])
		if n < 1 || n > len(st.Alerts) {
			return ledger.AlertGroup{}, State{}, 0, refuse("alert group %s has no alert %d (it has %d)", "告警组 %s 没有第 %d 条告警（共 %d 条）", displayID(g), n, len(st.Alerts))
		}
	}
	return g, st, n, nil
}

// usable checks that a group can be silenced from chat at all.
func (a *Actions) usable(st State, g ledger.AlertGroup) error {
	switch {
	case a.Alertmanager == nil:
		return refuse("silences from chat need alerts.alertmanager_url in the bot's configuration; use the message's Silence link meanwhile",
			"在聊天中静默需要在机器人配置中设置 alerts.alertmanager_url；目前请使用消息中的静默链接")
	case st.Source != SourceAlertmanager:
		return refuse("alert %s comes from Grafana: silence it in Grafana (the message's Silence link)", "告警 %s 来自 Grafana：请在 Grafana 中静默（消息中的静默链接）", displayID(g))
	}
	return nil
}

// matchers are the equality matchers of a group (its group labels, or
// the labels its alerts share) or of one alert (all its labels).
func matchers(st State, alert int) []alertmanager.Matcher {
	labels := matchLabels(st)
	if alert > 0 {
		labels = st.Alerts[alert-1].Labels
	}
	var out []alertmanager.Matcher
	for k, v := range labels {
		if v != "" {
			out = append(out, alertmanager.Matcher{Name: k, Value: v, IsEqual: true})
		}
	}
	slices.SortFunc(out, func(x, y alertmanager.Matcher) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// Silence creates a silence for a group, or one of its alerts, for
// req.Duration; Ack does the same for alerts.ack_for, as an
// acknowledgement. The message then says who did it and until when.
func (a *Actions) Silence(ctx context.Context, req ActionRequest) (string, error) {
	return a.silence(ctx, req, false)
}

// Ack acknowledges a group: it is silenced for alerts.ack_for.
func (a *Actions) Ack(ctx context.Context, req ActionRequest) (string, error) {
	req.Duration = a.Config.WithDefaults().AckFor
	return a.silence(ctx, req, true)
}

func (a *Actions) silence(ctx context.Context, req ActionRequest, ack bool) (string, error) {
	cfg := a.Config.WithDefaults()
	if !ack && (req.Duration < time.Minute || req.Duration > cfg.MaxSilence) {
		return "", refuse("a silence lasts from 1m to %s, not %s", "静默时长须在 1 分钟到 %s 之间，不能是 %s",
			recall.HumanDuration(cfg.MaxSilence, "en"), recall.HumanDuration(req.Duration, "en"))
	}
	g, st, n, err := a.find(ctx, req)
	if err != nil {
		return "", err
	}
	if err := a.usable(st, g); err != nil {
		return "", err
	}
	ms := matchers(st, n)
	if len(ms) == 0 {
		return "", refuse("alert group %s has no labels its alerts share: silence one alert, e.g. %s-1", "告警组 %s 的告警没有共同标签：请静默单条告警，例如 %s-1", displayID(g), displayID(g))
	}
	who := req.Who
	if req.Nick != "" && req.Nick != req.Who {
		who = req.Nick + " (" + req.Who + ")"
	}
	comment := a.redact(strings.TrimSpace(req.Comment))
	amComment := comment
	if ack {
		amComment = strings.TrimSpace("acknowledged in DingTalk " + comment)
	}
	if amComment == "" {
		amComment = "silenced from DingTalk"
	}
	now := a.now()
	until := now.Add(req.Duration)
	mark := newMarker(g.ID)
	id, err := a.Alertmanager.Create(ctx, alertmanager.Silence{Matchers: ms, StartsAt: now, EndsAt: until, CreatedBy: who + " via recallbot",
		Comment: amComment + " " + mark})
	if err != nil {
		if id, err = a.madeAnyway(ctx, ms[0], mark, err, g); err != nil {
			return "", err
		}
	}
	s := ledger.AlertSilence{ID: id, Alert: n, By: who, Until: until, Comment: comment, Ack: ack}
	_, err = a.Ledger.UpdateAlert(ctx, g.ID, "", nil, func(g *ledger.AlertGroup) error {
		g.Silences = append(g.Silences, s)
		g.Version++
		return nil
	})
	if err != nil {
		// Nothing half-done: the silence goes again.
		if eerr := a.Alertmanager.Expire(context.WithoutCancel(ctx), id); eerr != nil {
			a.Log.Error("a silence made from chat could not be recorded nor expired", zap.String("silence", id), zap.Error(errors.Join(err, eerr)))
		}
		return "", fmt.Errorf("recording the silence: %w", err)
	}
	action := "alert.silence"
	if ack {
		action = "alert.ack"
	}
	a.audit(ctx, req, g, action, fmt.Sprintf("silence %s until %s: %s", id, until.UTC().Format(time.RFC3339), comment))
	a.wake(g.ID)
	what := fmt.Sprintf("%s（%s）", displayID(g), mdText(st.name()))
	whatEn := fmt.Sprintf("%s (%s)", displayID(g), mdText(st.name()))
	if n > 0 {
		what += fmt.Sprintf(" 第 %d 条", n)
		whatEn += fmt.Sprintf(", alert %d", n)
	}
	if req.Locale == "en" {
		verb := "Silenced"
		if ack {
			verb = "Acknowledged and silenced"
		}
		return fmt.Sprintf("🔕 %s alert %s until %s (silence `%s`). `/unsilence %s` ends it.", verb, whatEn, clock(until), id, displayID(g)), nil
	}
	verb := "已静默"
	if ack {
		verb = "已认领并静默"
	}
	return fmt.Sprintf("🔕 %s告警 %s 至 %s（静默 `%s`）。发送 `/取消静默 %s` 可提前结束。", verb, what, clock(until), id, displayID(g)), nil
}
