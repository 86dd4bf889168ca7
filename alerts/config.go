// Package alerts turns Prometheus Alertmanager's and Grafana's webhook
// notifications into DingTalk messages that keep themselves tidy: one
// current message per alert group and chat, updated in place (an
// interactive card) or superseded (a markdown message sent, then the old
// one recalled), resolved as configured, silenced and acknowledged from
// chat through Alertmanager's API.
//
// The receiver (Receiver) checks a notification, routes it by its
// receiver name and writes the group's wanted state to the ledger; it
// answers at once. The Reconciler brings each chat in line with the
// ledger, one DingTalk call at a time, paced as bulk work after admins'
// commands, whichever instance took the notification.
package alerts

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// Style is how a group's message looks and changes.
type Style string

// Styles.
const (
	// StyleCard is an interactive card (StandardCard), updated in place.
	StyleCard Style = "card"
	// StyleMarkdown is a markdown message; a change sends the new one and
	// then recalls the old one.
	StyleMarkdown Style = "markdown"
)

// OnResolved is what becomes of a group's message when it resolves.
type OnResolved string

// The choices.
const (
	ResolvedUpdate OnResolved = "update" // the one message says it resolved
	ResolvedRecall OnResolved = "recall" // it is recalled: nothing is left
	ResolvedKeep   OnResolved = "keep"   // it is left as it was
)

// Target is where a route's alerts go: a group, one user's 1:1 chat with
// the bot, or several users' (one message in each).
type Target struct {
	Group string   `yaml:"group"`
	User  string   `yaml:"user"`
	Users []string `yaml:"users"`
}

// Chats are the chats the target names.
func (t Target) Chats() []ledger.Chat {
	if t.Group != "" {
		return []ledger.Chat{{Family: ledger.Group, ConversationID: t.Group}}
	}
	users := t.Users
	if t.User != "" {
		users = []string{t.User}
	}
	out := make([]ledger.Chat, 0, len(users))
	for _, u := range users {
		out = append(out, ledger.Chat{Family: ledger.OTO, UserID: u})
	}
	return out
}

func (t Target) validate(field string) error {
	set := 0
	for _, b := range []bool{t.Group != "", t.User != "", len(t.Users) > 0} {
		if b {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("%s: name exactly one of group (a conversation id), user (a staffId) or users (staffIds)", field)
	}
	for i, u := range t.Users {
		if strings.TrimSpace(u) == "" {
			return fmt.Errorf("%s.users[%d]: is empty", field, i)
		}
	}
	if len(t.Users) > 100 {
		return fmt.Errorf("%s.users: at most 100 users (each gets a message of its own)", field)
	}
	for _, c := range t.Chats() {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%s: %v", field, err)
		}
	}
	return nil
}

// Config is the alerts section of the configuration. Its zero value is the
// default: cards, updated on resolution, no routes (every receiver is
// refused until one is configured).
type Config struct {
	// Style is card (default) or markdown.
	Style Style `yaml:"style"`
	// OnResolved is update (default), recall or keep.
	OnResolved OnResolved `yaml:"on_resolved"`
	// Routes maps Alertmanager's receiver names (and Grafana's contact
	// points' receiver) to chats.
	Routes map[string]Target `yaml:"routes"`
	// Default takes receivers with no route; without it they are refused.
	Default *Target `yaml:"default"`
	// AlertmanagerURL is Alertmanager's address, for silences from chat.
	AlertmanagerURL string `yaml:"alertmanager_url"`
	// Responders may silence and acknowledge alerts from chat, besides
	// the admins.
	Responders []string `yaml:"responders"`
	// MaxAlerts is how many alerts a message lists before "and N more";
	// default 10.
	MaxAlerts int `yaml:"max_alerts"`
	// AckFor is how long /ack silences a group; default 4h.
	AckFor time.Duration `yaml:"ack_for"`
	// MaxSilence bounds /silence's duration; default 7 days.
	MaxSilence time.Duration `yaml:"max_silence"`
}

// WithDefaults fills in the defaults of unset fields.
func (c Config) WithDefaults() Config {
	if c.Style == "" {
		c.Style = StyleCard
	}
	if c.OnResolved == "" {
		c.OnResolved = ResolvedUpdate
	}
	if c.MaxAlerts == 0 {
		c.MaxAlerts = 10
	}
	if c.AckFor == 0 {
		c.AckFor = 4 * time.Hour
	}
	if c.MaxSilence == 0 {
		c.MaxSilence = 7 * 24 * time.Hour
	}
	return c
}

// Validate reports every invalid field, named as in the file.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("alerts.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Style != "" && c.Style != StyleCard && c.Style != StyleMarkdown {
		bad("style", "must be card or markdown, not %q", c.Style)
	}
	if c.OnResolved != "" && !slices.Contains([]OnResolved{ResolvedUpdate, ResolvedRecall, ResolvedKeep}, c.OnResolved) {
		bad("on_resolved", "must be update, recall or keep, not %q", c.OnResolved)
	}
	names := make([]string, 0, len(c.Routes))
	for name := range c.Routes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			bad("routes", "a route has an empty receiver name")
			continue
		}
		if err := c.Routes[name].validate("alerts.routes." + name); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Default != nil {
		if err := c.Default.validate("alerts.default"); err != nil {
			errs = append(errs, err)
		}
	}
	if c.AlertmanagerURL != "" {
		u, err := url.Parse(c.AlertmanagerURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(c.AlertmanagerURL, "/") || u.User != nil {
			bad("alertmanager_url", "must be an http(s) URL without a trailing slash or credentials, such as http://127.0.0.1:9093")
		}
	}
	for i, r := range c.Responders {
		if strings.TrimSpace(r) == "" {
			bad(fmt.Sprintf("responders[%d]", i), "is empty")
		}
	}
	if c.MaxAlerts < 0 || c.MaxAlerts > 50 {
		bad("max_alerts", "must be between 1 and 50 alerts listed in a message, not %d", c.MaxAlerts)
	}
	if c.AckFor < 0 || c.AckFor > 0 && c.AckFor < time.Minute {
		bad("ack_for", "must be at least 1m")
	}
	if c.MaxSilence < 0 || c.MaxSilence > 0 && c.MaxSilence < time.Minute {
		bad("max_silence", "must be at least 1m")
	}
	return errors.Join(errs...)
}

// route returns the target of a receiver and the route's name ("default"
// for the default), or false.
func (c Config) route(receiver string) (Target, string, bool) {
	if t, ok := c.Routes[receiver]; ok {
		return t, receiver, true
	}
	if c.Default != nil {
		return *c.Default, "default", true
	}
	return Target{}, "", false
}
