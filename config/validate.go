package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/ledger"
)

// Validate reports the first invalid field by name.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	d := c.DingTalk
	for field, v := range map[string]string{"dingtalk.client_id": d.ClientID, "dingtalk.client_secret": d.ClientSecret, "dingtalk.robot_code": d.RobotCode} {
		if strings.TrimSpace(v) == "" {
			bad(field, "is required")
		}
	}
	if !strings.HasPrefix(d.APIBase, "http://") && !strings.HasPrefix(d.APIBase, "https://") || strings.HasSuffix(d.APIBase, "/") {
		bad("dingtalk.api_base", "must be an http(s) URL without a trailing slash, such as https://api.dingtalk.com")
	}
	if d.QPS <= 0 || d.QPS > 1000 {
		bad("dingtalk.qps", "must be more than 0 and at most 1000 calls per second (DingTalk allows 20 per app and API on its standard edition; 40 or 60 on paid ones), not %v", d.QPS)
	}
	if d.Timeout <= 0 {
		bad("dingtalk.timeout", "must be positive")
	}
	if d.KeepAlive < 3*time.Second {
		bad("dingtalk.keepalive", "must be at least 3s")
	}
	if d.InFlight < 0 || d.InFlight > 64 {
		bad("dingtalk.in_flight", "must be between 1 and 64 calls, or 0 to size them from the round trip, not %d", d.InFlight)
	}
	if len(c.Admins) == 0 {
		bad("admins", "list at least one staffId: nobody could recall")
	}
	for i, a := range c.Admins {
		if strings.TrimSpace(a) == "" {
			bad(fmt.Sprintf("admins[%d]", i), "is empty")
		}
	}
	if c.Ledger.RedisURL == "" && c.Ledger.Path == "" {
		bad("ledger.path", "is required unless ledger.redis_url is set")
	}
	if p := c.Ledger.RedisPrefix; len(p) > 64 || strings.ContainsAny(p, " \t\r\n*?[]") {
		bad("ledger.redis_prefix", "must be at most 64 characters, without spaces or glob characters (* ? [ ])")
	}
	if c.Ledger.MinReplicas < 0 {
		bad("ledger.min_replicas", "must not be negative")
	} else if c.Ledger.MinReplicas > 0 && c.Ledger.RedisURL == "" {
		bad("ledger.min_replicas", "needs ledger.redis_url: the embedded ledger has no replicas")
	}
	if c.Ledger.ReplicaTimeout <= 0 {
		bad("ledger.replica_timeout", "must be positive")
	}
	if c.Ledger.Retention < 24*time.Hour {
		bad("ledger.retention", "must be at least 24h, the recall window")
	}
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			bad("http.listen", "must be host:port, such as 127.0.0.1:8470")
		} else if c.HTTP.Token == "" {
			bad("http.token", "is required when http.listen is set (use ${RECALLBOT_HTTP_TOKEN})")
		} else if len(c.HTTP.Token) < 16 {
			bad("http.token", "must be at least 16 characters")
		}
	}
	if n := c.HTTP.FailedLoginsPerMinute; n < 0 || n > 10000 {
		bad("http.failed_logins_per_minute", "must be between 1 and 10000 (0: the default, 30), not %d", n)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		bad("log.format", "must be json or console, not %q", c.Log.Format)
	}
	if c.Locale != "zh" && c.Locale != "en" {
		bad("locale", "must be zh or en, not %q", c.Locale)
	}
	r := c.Recall
	if r.MaxLast < 1 || r.MaxLast > 10000 {
		bad("recall.max_last", "must be between 1 and 10000")
	}
	if r.ReadStatusUpTo < 0 || r.ReadStatusUpTo > 1000 {
		bad("recall.read_status_up_to", "must be between 0 and 1000 messages, not %d", r.ReadStatusUpTo)
	}
	if r.ConfirmAbove < 0 {
		bad("recall.confirm_above", "must not be negative")
	}
	if r.ConfirmTTL <= 0 {
		bad("recall.confirm_ttl", "must be positive")
	}
	if r.Window < time.Hour || r.Window > 24*time.Hour {
		bad("recall.window", "must be between 1h and 24h (DingTalk's recall window is 24h; a shorter one only makes recallbot stop sooner), not %v", r.Window)
	}
	if cm := c.Commands; cm.Burst < 0 || cm.Burst > 1000 {
		bad("commands.burst", "must be between 0 (no budget) and 1000 commands, not %d", cm.Burst)
	} else if cm.Every <= 0 || cm.Every > time.Hour {
		bad("commands.every", "must be more than 0 and at most 1h, not %v", cm.Every)
	}
	if cm := c.Commands; cm.CrowdBurst < 1 || cm.CrowdBurst > 10000 {
		bad("commands.crowd_burst", "must be between 1 and 10000 commands, not %d", cm.CrowdBurst)
	} else if cm.CrowdEvery <= 0 || cm.CrowdEvery > time.Hour {
		bad("commands.crowd_every", "must be more than 0 and at most 1h, not %v", cm.CrowdEvery)
	}
	a := c.AutoRecall
	if a.MaxPerMinute < 1 {
		bad("autorecall.max_per_minute", "must be at least 1")
	}
	if a.PauseFor <= 0 || a.DuplicateWindow <= 0 || a.SelfDestructEvery <= 0 {
		bad("autorecall", "pause_for, duplicate_window and self_destruct_every must be positive")
	}
	if err := autorecall.Validate(a.RulesInForce()); err != nil {
		errs = append(errs, err)
	}
	if err := c.Alerts.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RulesInForce are the configured rules, or the defaults when none are.
func (a AutoRecall) RulesInForce() []autorecall.Rule {
	if len(a.Rules) == 0 {
		return autorecall.DefaultRules
	}
	return a.Rules
}

// Secrets lists the values that must never reach a log line or a reply:
// the app's secret, the HTTP token and the Redis passwords.
func (c Config) Secrets() []string {
	return append([]string{c.DingTalk.ClientSecret, c.HTTP.Token}, ledger.RedisURLSecrets(c.Ledger.RedisURL)...)
}
