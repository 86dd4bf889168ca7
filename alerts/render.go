package alerts

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/recallbot/recallbot/internal/invisible"
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

// mdText makes text from a notification safe in DingTalk markdown: its
// invisible characters (direction overrides, zero-width spaces) dropped,
// so that a line reads as it is; markdown's punctuation turned into its
// full-width twin, so an annotation cannot turn into a link, an image or
// formatting; and "://" without the colon a linkifier looks for. Links
// recallbot draws itself are added with link.
func mdText(s string) string { return mdEscaper.Replace(invisible.Strip(s)) }

var mdEscaper = strings.NewReplacer(
	"[", "［", "]", "］", "(", "（", ")", "）", "<", "＜", ">", "＞",
	"*", "＊", "_", "＿", "`", "｀", "#", "＃", "!", "！", "|", "｜", "~", "～", "\\", "＼",
	"://", "：//", "\r\n", " ", "\n", " ", "\r", " ",
)

// secret reports whether s holds something the redactor hides.
func (d drawing) secret(s string) bool {
	s = invisible.Strip(s)
	return d.Redact != nil && d.Redact(s) != s
}

// secretParams are query parameters whose values are credentials whatever
// they look like.
var secretParams = []string{"token", "access_token", "accesstoken", "api_key", "apikey", "key", "secret", "client_secret", "password",
	"passwd", "pwd", "auth", "authorization", "sig", "signature", "session", "sessionid", "credential", "credentials", "private_token", "jwt"}

// safeURL returns u fit for a markdown link, or false: an http(s) URL
// without invisible characters, spaces or parentheses, and without
// secrets: its user and password are dropped, and the values of
// secret-looking query parameters, path segments and a fragment that hold
// a secret are replaced by "redacted".
func (d drawing) safeURL(u string) (string, bool) {
	u = invisible.Strip(u)
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || strings.ContainsAny(u, " \t\r\n") {
		return "", false
	}
	p.User = nil
	if p.RawQuery != "" {
		q, changed := p.Query(), false
		for name, vs := range q {
			for i, v := range vs {
				if v != "redacted" && (slices.Contains(secretParams, strings.ToLower(name)) || d.secret(name+"="+v) || d.secret(v)) {
					vs[i], changed = "redacted", true
				}
			}
		}
		if changed {
			p.RawQuery = q.Encode()
		}
	}
	if segs := strings.Split(p.Path, "/"); d.secret(p.Path) {
		for i, seg := range segs {
			if d.secret(seg) {
				segs[i] = "redacted"
			}
		}
		p.Path, p.RawPath = strings.Join(segs, "/"), ""
	}
	if d.secret(p.Fragment) {
		p.Fragment, p.RawFragment = "", ""
	}
	return strings.NewReplacer("(", "%28", ")", "%29").Replace(p.String()), true
}

// link is a markdown link to u, or "" if u is not fit for one.
func (d drawing) link(label, u string) string {
	if s, ok := d.safeURL(u); ok {
		return "[" + label + "](" + s + ")"
	}
	return ""
}

// alertText is one line's words for an alert: its summary (or
// description, or message), else its labels. named: the group's alerts
// have several alertnames, so each line says its own.
func alertText(a Alert, group map[string]string, named bool) string {
	name := a.Labels["alertname"]
	for _, k := range []string{"summary", "description", "message"} {
		if v := strings.TrimSpace(a.Annotations[k]); v != "" {
			if named && name != "" {
				v = name + ": " + v
			}
			return cut(v, 200)
		}
	}
	var parts []string
	if named && name != "" {
		parts = append(parts, name)
	}
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		if k == "alertname" || group[k] == a.Labels[k] {
			continue
		}
		parts = append(parts, k+"="+a.Labels[k])
	}
	if len(parts) == 0 {
		return name
	}
	return cut(strings.Join(parts, " "), 200)
}

// named reports whether the group's alerts have more than one alertname.
func (st State) named() bool {
	for _, a := range st.Alerts {
		if a.Labels["alertname"] != st.Alerts[0].Labels["alertname"] {
			return true
		}
	}
	return false
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
// Grafana's own UI. Labels whose values hold a secret are left out of
// its filter (a link is seen by the whole chat): the person narrows it
// there.
func (st State) silenceLink(secret func(string) bool) string {
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
	labels := matchLabels(st)
	var ms []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if !secret(k+"="+labels[k]) && !secret(labels[k]) {
			ms = append(ms, fmt.Sprintf("%s=%q", k, labels[k]))
		}
	}
	if len(ms) == 0 {
		return ""
	}
	return strings.TrimRight(st.ExternalURL, "/") + "/#/silences/new?filter=" + url.QueryEscape("{"+strings.Join(ms, ",")+"}")
}

// matchLabels are the labels that pick out the group's alerts: its group
// labels and every label all its alerts share (Alertmanager's
// commonLabels, and those the alerts at hand share when it sent them
// all). A silence of the group labels alone would silence alerts of the
// same name routed to other teams; the labels the group's alerts share
// confine it to them (the route's own matchers are not in the
// notification). An alert that joins later with another value for one of
// these labels is not silenced.
func matchLabels(st State) map[string]string {
	out := maps.Clone(st.CommonLabels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, st.GroupLabels)
	if st.Truncated == 0 && len(st.Alerts) > 0 { // all the group's alerts are at hand
		shared := maps.Clone(st.Alerts[0].Labels)
		for _, a := range st.Alerts[1:] {
			for k, v := range shared {
				if a.Labels[k] != v {
					delete(shared, k)
				}
			}
		}
		maps.Copy(out, shared)
	}
	return out
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
