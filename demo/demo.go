// Package demo plays recallbot's whole job against the embedded DingTalk
// emulator and prints it as a chat transcript (`recallbot demo`), or an
// alert group's life (`recallbot demo -alerts`).
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/internal/clock"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// sceneOffset sets the demo's clock so that its words are true: the scene
// starts a day and 7 minutes before it ends (the first notices go out,
// the clock advances 24h05m, the rest go out, 2 minutes pass), and it
// ends now, or at 00:10 today when now is just after midnight, so that the
// first notices went out yesterday and the rest today, by the calendar.
func sceneOffset(now time.Time) time.Duration {
	end := now
	if early := time.Date(now.Year(), now.Month(), now.Day(), 0, 10, 0, 0, now.Location()); end.Before(early) {
		end = early
	}
	return end.Sub(now) - (24*time.Hour + 7*time.Minute)
}

const (
	demoChat   = "cidDemoPrivateChat=="
	demoAdmin  = "manager4220"
	demoIntern = "intern001"
	// demoChatTitle is the chat's title, as its members see it; the demo
	// names the chat by it, never by its key.
	demoChatTitle = "王经理 ↔ 李工"
)

// Options are the demo's flags.
type Options struct {
	// Locale is the language of the bot's replies and of the transcript:
	// "zh" or "en".
	Locale string
	// Alerts plays an alert group's life instead of the recall scene.
	Alerts bool
	// Interactive keeps the bot and the emulator running after the scene,
	// for a person to play the users, until ctx ends.
	Interactive bool
	// Log receives the bot's log; nil discards it.
	Log io.Writer
}

// Run plays the scene against the embedded emulator and prints it to
// stdout as a chat transcript. With Interactive it keeps running until ctx
// ends.
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	if !o.Interactive { // the scripted scene must end on its own
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}

	clk := clock.Offset(sceneOffset(time.Now()))
	srv, err := dingtalktest.NewServer(dingtalktest.Options{Now: clk.Now})
	if err != nil {
		return err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "recallbot-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := emulatorConfig(srv, 20)
	cfg.Admins = []string{demoAdmin}
	cfg.Ledger.Path = filepath.Join(dir, "ledger.db")
	cfg.HTTP = config.HTTP{Listen: "127.0.0.1:0", Token: randomToken(), Console: true}
	cfg.Locale = o.Locale
	cfg.Alerts.Routes = map[string]alerts.Target{"db-oncall": {Group: demoAlertsChat}}
	if err := cfg.Validate(); err != nil {
		return err
	}
	logOut := o.Log
	if logOut == nil {
		logOut = io.Discard
	}
	log, err := app.NewLogger(config.Log{Level: "info", Format: "console"}, logOut, cfg.Secrets())
	if err != nil {
		return err
	}
	bot := app.New(cfg, log, app.Options{Now: clk.Now})
	if err := bot.Open(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = bot.Close(sctx)
	}()

	d := &demo{out: stdout, srv: srv, app: bot, clock: clk, locale: o.Locale}
	scene := d.scene
	if o.Alerts {
		scene = d.alertScene
	}
	if err := scene(ctx); err != nil {
		return err
	}
	if !o.Interactive {
		return nil
	}
	fmt.Fprintf(stdout, d.pick(interactiveZH, interactiveEN), srv.URL(), demoChat, demoAdmin, cfg.HTTP.Token, bot.HTTPAddr(), url.QueryEscape(demoChat))
	<-ctx.Done()
	return nil
}

// emulatorConfig is the default configuration pointed at an emulator, with
// the client pacing itself at qps.
func emulatorConfig(srv *dingtalktest.Server, qps float64) config.Config {
	o := srv.Options()
	cfg := config.Default()
	cfg.DingTalk = config.DingTalk{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode, CoolAppCode: o.CoolAppCode,
		APIBase: srv.URL(), QPS: qps, Timeout: 5 * time.Second, KeepAlive: 120 * time.Second}
	return cfg
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type demo struct {
	out    io.Writer
	srv    *dingtalktest.Server
	app    *app.App
	clock  *clock.Clock
	locale string
}

func (d *demo) en() bool { return d.locale == "en" }

func (d *demo) say(zh, en string, args ...any) {
	s := zh
	if d.en() {
		s = en
	}
	fmt.Fprintf(d.out, "\n== "+s+"\n", args...)
}

var demoNotices = [][2]string{
	{"[告警] db-7 磁盘使用率 91%", "[alert] db-7 disk at 91%"},
	{"[告警] db-7 磁盘使用率 93%", "[alert] db-7 disk at 93%"},
	{"[通知] 今晚 22:00 发布 v2.3", "[notice] v2.3 ships tonight at 22:00"},
	{"[告警] db-7 磁盘使用率 97%，请处理", "[alert] db-7 disk at 97%, please act"},
	{"[通知] 发布推迟到明晚（内容有误）", "[notice] release moved to tomorrow (wrong)"},
	{"[告警] 测试告警，请忽略", "[alert] test alert, please ignore"},
	{"[通知] 今晚值班：张三（有误，应为李四）", "[notice] on call tonight: Zhang (wrong: it is Li)"},
}

func (d *demo) scene(ctx context.Context) error {
	d.say("钉钉模拟器 %s；机器人已通过 Stream 连接（账本是演示结束即删除的临时文件）",
		"DingTalk emulator at %s; the bot is connected through Stream (its ledger is a temporary file, deleted when the demo ends)", d.srv.URL())
	if err := d.srv.AddConversation(demoChat, dingtalktest.KindPrivate, demoChatTitle); err != nil {
		return err
	}
	chat := ledger.Chat{Family: ledger.Private, ConversationID: demoChat}
	d.say("机器人向一个单聊会话发送 7 条通知（privateChatMessages/send），前 3 条发于昨天",
		"The bot sends 7 notifications into a one-to-one chat (privateChatMessages/send); the first 3 went out yesterday")
	for i, n := range demoNotices {
		if i == 3 {
			d.clock.Advance(24*time.Hour + 5*time.Minute) // a day passes
		}
		text := n[0]
		if d.en() {
			text = n[1]
		}
		if _, err := d.app.Sender.Send(ctx, chat, dingtalk.Text(text), recall.SendOptions{Origin: ledger.OriginAuto, Actor: "monitoring"}); err != nil {
			return fmt.Errorf("demo send: %w", err)
		}
	}
	d.clock.Advance(2 * time.Minute)
	d.printChat()

	d.say("王经理（%s，管理员）在会话中输入：/recall last 5", "The manager (%s, an admin) types in the chat: /recall last 5", demoAdmin)
	reply, err := d.command(ctx, demoAdmin, "/recall last 5")
	if err != nil {
		return err
	}
	d.say("机器人回复（回复本身也记入账本，可被撤回）：", "The bot answers (its reply is ledgered and recallable too):")
	fmt.Fprint(d.out, indentLines(d.plain(reply), "  "))
	d.say("会话中现在的样子（成员所见）：", "The chat as its members now see it:")
	d.printChat()

	d.say("实习生（%s，非管理员）输入：/recall last 5", "An intern (%s, not an admin) types: /recall last 5", demoIntern)
	reply, err = d.command(ctx, demoIntern, "/recall last 5")
	if err != nil {
		return err
	}
	fmt.Fprint(d.out, indentLines(d.plain(reply), "  "))
	return d.printAudit(ctx)
}

// pick is zh or en in the demo's language.
func (d *demo) pick(zh, en string) string {
	if d.locale == "en" {
		return en
	}
	return zh
}

// command plays a user typing text in the demo chat and returns the bot's
// reply as the chat shows it.
func (d *demo) command(ctx context.Context, who, text string) (string, error) {
	before := len(d.botMessages())
	if _, err := d.srv.PushMessage(dingtalktest.UserMessage{ConversationID: demoChat, ConversationType: "1", SenderStaffID: who, Text: text}); err != nil {
		return "", err
	}
	if err := d.srv.WaitUntil(ctx, func() bool { return len(d.botMessages()) > before }); err != nil {
		return "", fmt.Errorf("the bot did not answer %q: %w", text, err)
	}
	ms := d.botMessages()
	return strings.TrimPrefix(ms[len(ms)-1].Text, "recallbot\n"), nil // the markdown title
}

func (d *demo) botMessages() []dingtalktest.Message {
	c, _ := d.srv.Conversation(demoChat)
	var out []dingtalktest.Message
	for _, m := range c.Messages {
		if m.FromBot() {
			out = append(out, m)
		}
	}
	return out
}

func (d *demo) printChat() {
	c, _ := d.srv.Conversation(demoChat)
	recalled := "（已撤回）"
	if d.en() {
		recalled = "(recalled)"
	}
	for _, m := range c.Messages {
		who := "🤖 recallbot"
		if !m.FromBot() {
			who = "👤 " + m.Sender
		}
		text, _, _ := strings.Cut(m.Text, "\n")
		if m.MsgKey == "sampleMarkdown" { // the bot's replies: title, then the receipt's first line
			lines := strings.Split(m.Text, "\n")
			if len(lines) > 1 {
				text = d.plain(lines[1])
			}
		}
		if m.Recalled {
			text = strikethrough(text) + " " + recalled
		}
		line := fmt.Sprintf("  %s  %-16s %s", m.SentAt.Local().Format("01-02 15:04"), who, text)
		fmt.Fprintln(d.out, strings.TrimRight(line, " "))
	}
}

func strikethrough(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
		b.WriteRune('\u0336')
	}
	return b.String()
}
