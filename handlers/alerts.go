package handlers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/recallbot/recallbot/alerts"
)

// The alert verbs: silence, acknowledge and unsilence an alert group shown
// in the chat, by the short ID its message shows. Admins and the
// configured responders may; anyone else is refused and audited.
const (
	VerbSilence   Verb = "silence"
	VerbAck       Verb = "ack"
	VerbUnsilence Verb = "unsilence"
)

// alertVerbNames are the alert verbs as typed, English and Chinese.
var alertVerbNames = map[string]Verb{
	"silence": VerbSilence, "静默": VerbSilence, "屏蔽": VerbSilence,
	"ack": VerbAck, "acknowledge": VerbAck, "认领": VerbAck, "确认告警": VerbAck,
	"unsilence": VerbUnsilence, "取消静默": VerbUnsilence, "解除静默": VerbUnsilence,
}

// verbOf is the verb a command word names, or "".
func verbOf(name string) Verb {
	if v, ok := verbs[name]; ok {
		return v
	}
	return alertVerbNames[name]
}

// responderVerbs need an admin or a responder.
var responderVerbs = map[Verb]bool{VerbSilence: true, VerbAck: true, VerbUnsilence: true}

// AlertActions carries out the alert verbs (package alerts' Actions).
type AlertActions interface {
	Silence(ctx context.Context, req alerts.ActionRequest) (string, error)
	Ack(ctx context.Context, req alerts.ActionRequest) (string, error)
	Unsilence(ctx context.Context, req alerts.ActionRequest) (string, error)
}

// addAlertVerbs puts the alert verbs in the dispatch table.
func (b *Bot) addAlertVerbs() {
	for _, v := range []Verb{VerbSilence, VerbAck, VerbUnsilence} {
		b.verbs[v] = b.alertCommand
	}
}

// mayRespond reports whether staffID may silence and acknowledge alerts.
func (b *Bot) mayRespond(staffID string) bool {
	return b.isAdmin(staffID) || staffID != "" && slices.Contains(b.cfg.Responders, staffID)
}

// maxComment bounds a silence's comment.
const maxComment = 200

// parseAlert reads "/silence ID 2h reason…", "/ack ID [reason…]" and
// "/unsilence ID".
func parseAlert(cmd Command, name string, args []string) (Command, error) {
	if len(args) == 0 {
		switch cmd.Verb {
		case VerbSilence:
			return Command{}, usage("/%s takes the alert's ID, a duration and a reason, e.g. /silence a1b2c3 2h disk being replaced",
				"/%s 后面跟告警 ID、时长和原因，例如 /静默 a1b2c3 2h 正在更换磁盘", name)
		default:
			return Command{}, usage("/%s takes the alert's ID from its message, e.g. /%s a1b2c3", "/%s 后面跟告警消息中的 ID，例如 /%s a1b2c3", name, name)
		}
	}
	cmd.Target, args = args[0], args[1:]
	switch cmd.Verb {
	case VerbSilence:
		if len(args) == 0 {
			return Command{}, usage("say how long to silence it, e.g. /silence %s 2h reason", "请说明静默多久，例如 /静默 %s 2h 原因", cmd.Target)
		}
		d, err := duration(args[0])
		if err != nil {
			return Command{}, err
		}
		cmd.For, args = d, args[1:]
	case VerbUnsilence:
		if len(args) > 0 {
			return Command{}, usage("/%s takes only the alert's ID", "/%s 只需要告警 ID", name)
		}
	}
	cmd.Comment = strings.Join(args, " ")
	if utf8.RuneCountInString(cmd.Comment) > maxComment {
		return Command{}, usage("the reason is longer than %d characters", "原因不能超过 %d 个字", maxComment)
	}
	return cmd, nil
}

// alertCommand runs an alert verb in the chat it was typed in.
func (b *Bot) alertCommand(ctx context.Context, req *request) (string, error) {
	if b.cfg.Alerts == nil {
		return say(b.cfg.Locale, "alerts.off"), nil
	}
	ar := alerts.ActionRequest{Chat: req.chat, Target: req.cmd.Target, Duration: req.cmd.For, Comment: req.cmd.Comment,
		Who: req.msg.SenderStaffID, Nick: req.msg.SenderNick, Locale: b.cfg.Locale}
	var reply string
	var err error
	switch req.cmd.Verb {
	case VerbSilence:
		reply, err = b.cfg.Alerts.Silence(ctx, ar)
	case VerbAck:
		reply, err = b.cfg.Alerts.Ack(ctx, ar)
	default:
		reply, err = b.cfg.Alerts.Unsilence(ctx, ar)
	}
	var refusal interface{ In(string) string }
	if errors.As(err, &refusal) {
		return "", &UsageError{Msg: refusal.In("en"), Zh: refusal.In("zh")}
	}
	return reply, err
}

// alertTexts are the alert verbs' words, Chinese first, English second.
var alertTexts = map[string][2]string{
	"alerts.help": {
		"\n\n告警命令（管理员与值班响应人）：\n- `/静默 ID 2h 原因` 在 Alertmanager 中静默告警组（`ID-2` 只静默第 2 条）\n- `/认领 ID` 认领并静默一段时间\n- `/取消静默 ID` 结束聊天中创建的静默",
		"\n\nAlert commands (admins and responders):\n- `/silence ID 2h reason` silence the alert group in Alertmanager (`ID-2` for its second alert only)\n- `/ack ID` acknowledge it (silenced for a while)\n- `/unsilence ID` end the silences made from chat",
	},
	"alerts.denied": {"抱歉，只有管理员和告警响应人可以静默或认领告警。本次尝试已记录。", "Sorry, only admins and alert responders may silence or acknowledge alerts. This attempt has been recorded."},
	"alerts.off":    {"本机器人没有启用告警。", "This bot does not handle alerts."},
}

// alertHelp is the help's part about alerts, for those who may use it.
func (b *Bot) alertHelp(staffID string) string {
	if b.cfg.Alerts == nil || !b.mayRespond(staffID) {
		return ""
	}
	return say(b.cfg.Locale, "alerts.help")
}
