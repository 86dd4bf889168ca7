package alerts

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/recallbot/recallbot/ledger"
)

// draw draws a group's message from its state: a title with its status,
// name, severity and short ID; how many alerts fire and since when; each
// alert (its summary, or its labels) up to MaxAlerts and "and N more";
// the silences made from chat; links (the alert's source, a silence in
// Alertmanager's or Grafana's UI, Grafana's dashboard and panel); and,
// while it fires, how to silence it from chat.
func draw(st State, g ledger.AlertGroup, d drawing) message {
	short := displayID(g)
	firing := st.Firing()
	sil := activeSilences(g, d.Now)
	icon, word, color := "✅", d.tr("已恢复", "RESOLVED"), "common_green1_color"
	switch {
	case firing && groupSilenced(sil):
		icon, word, color = "🔕", d.tr("已静默", "SILENCED"), "common_blue1_color"
	case firing:
		icon, word, color = "🔥", d.tr("告警", "FIRING"), "common_red1_color"
		if r, ok := severityRank[st.severity()]; ok && r >= 2 {
			color = "common_orange1_color"
		}
	}
	title := fmt.Sprintf("%s [%s] %s", icon, word, mdText(st.name()))
	if sev := st.severity(); sev != "" {
		title += " · " + mdText(sev)
	}

	nFiring, since := 0, d.Now
	for _, a := range st.Alerts {
		if a.Firing() {
			nFiring++
			if a.StartsAt.Before(since) {
				since = a.StartsAt
			}
		}
	}
	status := d.tr(fmt.Sprintf("%d 条触发中", nFiring), fmt.Sprintf("%d firing", nFiring))
	switch n := len(st.Alerts) - nFiring; {
	case nFiring == 0:
		status = d.tr(fmt.Sprintf("%d 条全部恢复", n), allResolved(n))
	case n > 0:
		status += d.tr(fmt.Sprintf("，%d 条已恢复", n), fmt.Sprintf(", %d resolved", n))
	}
	if nFiring > 0 {
		status += d.tr(" · 自 ", " · since ") + clock(since)
	}
	head := fmt.Sprintf("%s · %s · `#%s`", mdText(st.Route), status, short)

	var lines []string
	named := st.named()
	for i, a := range st.Alerts {
		if i == d.MaxAlerts {
			break
		}
		mark, when := "🔥", d.tr(" · 自 ", " · since ")+clock(a.StartsAt)
		if !a.Firing() {
			mark, when = "✅", d.tr(" · 恢复于 ", " · resolved ")+clock(a.EndsAt)
		}
		line := fmt.Sprintf("- %d. %s %s%s", i+1, mark, d.text(alertText(a, st.GroupLabels, named)), when)
		if l := d.link(d.tr("来源", "source"), a.GeneratorURL); l != "" {
			line += " · " + l
		}
		lines = append(lines, line)
	}
	if more := addCapped(int64(len(st.Alerts)-min(len(st.Alerts), d.MaxAlerts)), st.Truncated); more > 0 {
		lines = append(lines, d.tr(fmt.Sprintf("- … 以及另外 %d 条", more), fmt.Sprintf("- … and %d more", more)))
	}
	if st.Cut {
		lines = append(lines, d.tr("- ✂ 通知超出 recallbot 的上限，已被截短（告警、标签或注释）", "- ✂ the notification was cut to recallbot's limits (alerts, labels or annotations)"))
	}

	var notes []string
	for _, s := range sil {
		what := d.tr("本组", "the group")
		if s.Alert > 0 {
			what = d.tr(fmt.Sprintf("第 %d 条", s.Alert), fmt.Sprintf("alert %d", s.Alert))
		}
		note := d.tr(fmt.Sprintf("🔕 %s 已静默%s至 %s", mdText(s.By), what, clock(s.Until)), fmt.Sprintf("🔕 %s silenced %s until %s", mdText(s.By), what, clock(s.Until)))
		if s.Ack {
			note = d.tr(fmt.Sprintf("✋ %s 已认领（静默至 %s）", mdText(s.By), clock(s.Until)), fmt.Sprintf("✋ acknowledged by %s (silenced until %s)", mdText(s.By), clock(s.Until)))
		}
		if s.Comment != "" {
			note += d.tr("：", ": ") + d.text(cut(s.Comment, 100))
		}
		notes = append(notes, note)
	}

	type button struct{ label, url string }
	var buttons []button
	addButton := func(label, u string) {
		if _, ok := d.safeURL(u); ok && len(buttons) < 4 {
			buttons = append(buttons, button{label, u})
		}
	}
	for _, a := range st.Alerts {
		if a.Firing() || !firing {
			addButton(d.tr("查看来源", "Source"), a.GeneratorURL)
			if a.PanelURL != "" {
				addButton(d.tr("面板", "Panel"), a.PanelURL)
			} else {
				addButton(d.tr("仪表盘", "Dashboard"), a.DashboardURL)
			}
			break
		}
	}
	if firing && !g.Moved {
		addButton(d.tr("静默", "Silence"), st.silenceLink(d.secret))
	}
	if g.Moved {
		notes = append(notes, d.tr("⤴ 本告警组的通知已改发到其他会话：此消息不再更新", "⤴ this alert group's notifications go to another chat now: this message is no longer updated"))
	}
	addButton(map[string]string{SourceAlertmanager: "Alertmanager", SourceGrafana: "Grafana"}[st.Source], st.ExternalURL)

	hint := ""
	if firing && d.CanSilence && st.Source == SourceAlertmanager && !g.Moved {
		one, oneEn := "", ""
		if len(st.Alerts) > 1 { // "/silence ID-2" names a second alert
			one, oneEn = fmt.Sprintf("（单条：`%s-2`）", short), fmt.Sprintf(" (one alert: `%s-2`)", short)
		}
		hint = d.tr(fmt.Sprintf("静默：@机器人 `/静默 %[1]s 2h 原因`%[2]s · 认领：`/认领 %[1]s` · 取消：`/取消静默 %[1]s`", short, one),
			fmt.Sprintf("Silence: @bot `/silence %[1]s 2h reason`%[2]s · `/ack %[1]s` · `/unsilence %[1]s`", short, oneEn))
	}

	// Markdown: the title in bold, then the rest, paragraphs apart.
	var md []string
	md = append(md, "**"+title+"**", head, strings.Join(lines, "\n"))
	md = append(md, notes...)
	var links []string
	for _, b := range buttons {
		links = append(links, d.link(b.label, b.url))
	}
	if len(links) > 0 {
		md = append(md, strings.Join(links, " · "))
	}
	if hint != "" {
		md = append(md, hint)
	}

	contents := []map[string]any{
		{"type": "markdown", "text": head, "id": "head"},
		{"type": "markdown", "text": strings.Join(lines, "\n"), "id": "alerts"},
	}
	if len(notes) > 0 {
		contents = append(contents, map[string]any{"type": "markdown", "text": strings.Join(notes, "\n"), "id": "silences"})
	}
	if hint != "" {
		contents = append(contents, map[string]any{"type": "divider", "id": "divider"}, map[string]any{"type": "markdown", "text": hint, "id": "hint"})
	}
	if len(buttons) > 0 {
		var actions []map[string]any
		for i, b := range buttons {
			u, _ := d.safeURL(b.url)
			actions = append(actions, map[string]any{"type": "button", "label": map[string]string{"type": "text", "text": b.label, "id": fmt.Sprintf("label_%d", i)},
				"actionType": "openLink", "url": map[string]string{"all": u}, "status": "normal", "id": fmt.Sprintf("button_%d", i)})
		}
		contents = append(contents, map[string]any{"type": "action", "id": "links", "actions": actions})
	}
	card, _ := json.Marshal(map[string]any{
		"config":   map[string]bool{"autoLayout": true, "enableForward": true},
		"header":   map[string]any{"title": map[string]string{"type": "text", "text": title + " #" + short, "color": color}},
		"contents": contents,
	})
	return message{Title: title + " #" + short, Markdown: strings.Join(md, "\n\n"), Card: card}
}

// groupSilenced reports whether a silence made from chat covers the whole
// group.
func groupSilenced(sil []ledger.AlertSilence) bool {
	for _, s := range sil {
		if s.Alert == 0 {
			return true
		}
	}
	return false
}

// allResolved says in English that a group's n alerts have all resolved,
// as a person would: "resolved", "both resolved", "all 3 resolved".
func allResolved(n int) string {
	switch n {
	case 1:
		return "resolved"
	case 2:
		return "both resolved"
	}
	return fmt.Sprintf("all %d resolved", n)
}
