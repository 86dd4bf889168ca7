package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// demoAlertsChat is the group the demo's alerts go to.
const demoAlertsChat = "cidDemoOnCallGroup=="

// alertScene plays an alert group's life (`recallbot demo -alerts`): it
// fires, Alertmanager repeats it, a second alert joins, everything
// resolves; each notification posted to the bot's webhook as Alertmanager
// posts it. The chat shows one card throughout, updated in place.
func (d *demo) alertScene(ctx context.Context) error {
	if err := d.srv.AddConversation(demoAlertsChat, dingtalktest.KindGroup, d.pick("数据库值班群", "database on-call group")); err != nil {
		return err
	}
	d.say("钉钉模拟器 %s；Alertmanager 的 webhook 指向 recallbot：POST http://%s/v1/alerts/alertmanager（Bearer 令牌），接收器 db-oncall → 群「数据库值班群」",
		"DingTalk emulator at %s; Alertmanager's webhook points at recallbot: POST http://%s/v1/alerts/alertmanager (bearer token), receiver db-oncall -> the database on-call group",
		d.srv.URL(), d.app.HTTPAddr())
	now := d.clock.Now().UTC().Truncate(time.Minute)
	db1 := demoAlert{"db1", "disk 95% full on db1", now, time.Time{}}
	db2 := demoAlert{"db2", "disk 91% full on db2", now.Add(20 * time.Minute), time.Time{}}

	d.say("告警组 DiskFull 触发（db1）：Alertmanager 等待 group_wait 后发出第一条通知",
		"Alert group DiskFull fires (db1): after group_wait Alertmanager sends its first notification")
	if err := d.notify(ctx, db1); err != nil {
		return err
	}
	d.printAlertsChat()

	d.clock.Advance(4 * time.Hour)
	d.say("4 小时后（repeat_interval）Alertmanager 重复发送同一告警组：群里不多一条消息",
		"4 hours later (repeat_interval) Alertmanager sends the same group again: the chat gets nothing new")
	if err := d.notify(ctx, db1); err != nil {
		return err
	}
	d.printAlertsChat()

	d.clock.Advance(20 * time.Minute)
	d.say("db2 也告警了：通知带着整个告警组（2 条），卡片原地更新", "db2 fires too: the notification carries the whole group (2 alerts), and the card is updated in place")
	if err := d.notify(ctx, db1, db2); err != nil {
		return err
	}
	d.printAlertsChat()

	d.clock.Advance(35 * time.Minute)
	d.say("磁盘清理后全部恢复（send_resolved）：同一张卡片改为「已恢复」", "Disks cleaned up, everything resolves (send_resolved): the same card now says it resolved")
	db1.ends, db2.ends = d.clock.Now().UTC(), d.clock.Now().UTC()
	if err := d.notify(ctx, db1, db2); err != nil {
		return err
	}
	d.printAlertsChat()

	sends, updates := 0, 0
	for _, c := range d.srv.Calls() { // answered ones: the token expired while the demo let hours pass
		switch {
		case c.Status != http.StatusOK:
		case c.Path == dingtalktest.PathCardSend:
			sends++
		case c.Path == dingtalktest.PathCardUpdate:
			updates++
		}
	}
	d.say("4 条通知，群里始终一条消息：%d 次发送卡片，%d 次原地更新（重复的那次没有调用钉钉）。换成 alerts.style: markdown 则每次变化发新消息并撤回旧的。",
		"4 notifications, one message in the chat throughout: %d card send, %d updates in place (the repeat called nothing). With alerts.style: markdown each change sends a new message and recalls the old one.",
		sends, updates)
	return nil
}

type demoAlert struct {
	instance, summary string
	starts, ends      time.Time
}

// notify posts the group's state to the bot as Alertmanager 0.25 does and
// waits until the chat shows it.
func (d *demo) notify(ctx context.Context, as ...demoAlert) error {
	status := "resolved"
	var list []map[string]any
	for _, a := range as {
		st, ends := "firing", "0001-01-01T00:00:00Z"
		if !a.ends.IsZero() {
			st, ends = "resolved", a.ends.Format(time.RFC3339)
		} else {
			status = "firing"
		}
		list = append(list, map[string]any{"status": st, "labels": map[string]string{"alertname": "DiskFull", "instance": a.instance, "severity": "critical"},
			"annotations": map[string]string{"summary": a.summary}, "startsAt": a.starts.Format(time.RFC3339), "endsAt": ends,
			"generatorURL": "http://prometheus:9090/graph?g0.expr=node_filesystem_avail_bytes", "fingerprint": "demo-" + a.instance})
	}
	body, _ := json.Marshal(map[string]any{"version": "4", "groupKey": `{}:{alertname="DiskFull"}`, "status": status, "receiver": "db-oncall",
		"groupLabels": map[string]string{"alertname": "DiskFull"}, "commonLabels": map[string]string{"alertname": "DiskFull", "severity": "critical"},
		"externalURL": "http://alertmanager:9093", "alerts": list, "truncatedAlerts": 0})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+d.app.HTTPAddr()+"/v1/alerts/alertmanager", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+d.app.Config.HTTP.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo notification: %w", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Fprintf(d.out, "  HTTP %d %s", resp.StatusCode, answer)
	if resp.StatusCode != 200 {
		return fmt.Errorf("demo notification refused: %d %s", resp.StatusCode, answer)
	}
	// The answer comes before DingTalk is called: wait for the chat.
	for {
		due, err := d.app.Ledger.DueAlerts(ctx, 1)
		if err == nil && len(due) == 0 {
			return nil
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("the demo's alert was not shown: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// printAlertsChat prints the alerts group as its members see it.
func (d *demo) printAlertsChat() {
	d.say("群「数据库值班群」中（成员所见）：", "The database on-call group as its members see it:")
	c, _ := d.srv.Conversation(demoAlertsChat)
	for _, m := range c.Messages {
		if m.Recalled {
			continue
		}
		kind := d.pick("[卡片]", "[card]")
		if m.Updates > 0 {
			kind = d.pick(fmt.Sprintf("[卡片，已原地更新 %d 次]", m.Updates), fmt.Sprintf("[card, updated in place ×%d]", m.Updates))
		}
		lines := strings.Split(terminalText(m.Text), "\n")
		fmt.Fprintf(d.out, "  %s  %-12s %s %s\n", m.SentAt.Format("01-02 15:04"), "🤖 recallbot", kind, lines[0])
		for _, l := range lines[1:] {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "[") {
				fmt.Fprintf(d.out, "  %29s %s\n", "", l)
			}
		}
	}
}
