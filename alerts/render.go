package alerts

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// message is a group's state drawn for chat: a markdown message (title and
// text) and the same as a StandardCard's cardData.
type message struct {
	Title    string
	Markdown string
	Card     json.RawMessage
}

// drawing is what a message is drawn with besides the state.
type drawing struct {
	Locale     string
	MaxAlerts  int
	CanSilence bool // chat commands can silence it (Alertmanager's API is configured)
	Now        time.Time
	// Redact replaces secrets in what a notification says (a token in an
	// annotation) before it reaches the chat; nil leaves it.
	Redact func(string) string
}

// text is notification text as the chat may show it: secrets redacted,
// then markdown made inert.
func (d drawing) text(s string) string {
	if d.Redact != nil {
		s = d.Redact(s)
	}
	return mdText(s)
}

// tr picks the Chinese or English text.
func (d drawing) tr(zh, en string) string {
	if d.Locale == "en" {
		return en
	}
	return zh
}

// mdText makes text from a notification safe in DingTalk markdown:
// markdown's punctuation becomes its full-width twin, so an annotation
// cannot turn into a link, an image or formatting, and "://" loses the
// colon a linkifier looks for. Links recallbot draws itself are added
// with link.
var mdText = strings.NewReplacer(
	"[", "［", "]", "］", "(", "（", ")", "）", "<", "＜", ">", "＞",
	"*", "＊", "_", "＿", "`", "｀", "#", "＃", "!", "！", "|", "｜", "~", "～", "\\", "＼",
	"://", "：//", "\r\n", " ", "\n", " ", "\r", " ",
).Replace

// safeURL returns u if it is an http(s) URL fit for a markdown link.
func safeURL(u string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || strings.ContainsAny(u, " \t\r\n") {
		return "", false
	}
	return strings.NewReplacer("(", "%28", ")", "%29").Replace(u), true
}

func link(label, u string) string {
	if s, ok := safeURL(u); ok {
		return "[" + label + "](" + s + ")"
	}
	return ""
}

// alertText is one line's words for an alert: its summary (or
// description, or message), else its labels.
func alertText(a Alert, group map[string]string) string {
	for _, k := range []string{"summary", "description", "message"} {
		if v := strings.TrimSpace(a.Annotations[k]); v != "" {
			return cut(v, 200)
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		if k == "alertname" || group[k] == a.Labels[k] {
			continue
		}
		parts = append(parts, k+"="+a.Labels[k])
	}
	if len(parts) == 0 {
		return a.Labels["alertname"]
	}
	return cut(strings.Join(parts, " "), 200)
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// name is the group's name: its alertname, or Grafana's title.
func (st State) name() string {
	for _, m := range []map[string]string{st.GroupLabels, st.CommonLabels} {
		if v := m["alertname"]; v != "" {
			return v
		}
	}
	if len(st.Alerts) > 0 && st.Alerts[0].Labels["alertname"] != "" {
		return st.Alerts[0].Labels["alertname"]
	}
	return "alerts"
}

// severityRank orders the usual severity labels, worst first.
var severityRank = map[string]int{"critical": 0, "page": 0, "error": 1, "high": 1, "warning": 2, "warn": 2, "medium": 2, "info": 3, "low": 3, "none": 4}

// severity is the worst severity label among the firing alerts (among
// all, once none fires).
func (st State) severity() string {
	firing := st.Firing()
	best, rank := "", 100
	for _, a := range st.Alerts {
		s := strings.ToLower(a.Labels["severity"])
		if s == "" || firing && !a.Firing() {
			continue
		}
		r, ok := severityRank[s]
		if !ok {
			r = 50
		}
		if r < rank {
			best, rank = s, r
		}
	}
	return best
}

// silenceLink is where a person silences the group in Alertmanager's or
// Grafana's own UI.
func (st State) silenceLink() string {
	if st.Source == SourceGrafana {
		for _, a := range st.Alerts {
			if a.SilenceURL != "" {
				return a.SilenceURL
			}
		}
		return ""
	}
	if st.ExternalURL == "" {
		return ""
	}
	var ms []string
	for _, k := range slices.Sorted(maps.Keys(matchLabels(st))) {
		ms = append(ms, fmt.Sprintf("%s=%q", k, matchLabels(st)[k]))
	}
	if len(ms) == 0 {
		return ""
	}
	return strings.TrimRight(st.ExternalURL, "/") + "/#/silences/new?filter=" + url.QueryEscape("{"+strings.Join(ms, ",")+"}")
}

// matchLabels are the labels that pick out the group: its group labels,
// or, with none (group_by: []), the labels its alerts share.
func matchLabels(st State) map[string]string {
	if len(st.GroupLabels) > 0 {
		return st.GroupLabels
	}
	return st.CommonLabels
}

// activeSilences are the group's silences made from chat that have not
// ended.
func activeSilences(g ledger.AlertGroup, now time.Time) []ledger.AlertSilence {
	var out []ledger.AlertSilence
	for _, s := range g.Silences {
		if s.Until.After(now) {
			out = append(out, s)
		}
	}
	return out
}

func clock(t time.Time) string { return t.Local().Format("01-02 15:04") }
