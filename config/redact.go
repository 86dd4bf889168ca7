package config

import (
	"net/url"
	"slices"
	"strings"

	"github.com/recallbot/recallbot/ledger"
)

// RedactedMark stands in for a secret in a configuration shown to a person.
const RedactedMark = "[redacted]"

// Redacted is the configuration with every secret replaced by RedactedMark:
// the app's secret, the HTTP token and the Redis passwords (validation
// keeps credentials out of alerts.alertmanager_url). `recallbot check-config` prints it, so that an
// effective configuration can be pasted into a ticket.
func (c Config) Redacted() Config {
	r := c
	r.Admins = slices.Clone(c.Admins)
	if r.DingTalk.ClientSecret != "" {
		r.DingTalk.ClientSecret = RedactedMark
	}
	if r.HTTP.Token != "" {
		r.HTTP.Token = RedactedMark
	}
	r.Ledger.RedisURL = redactURL(c.Ledger.RedisURL)
	return r
}

// redactURL replaces the password of a URL's userinfo and its password=
// and sentinel_password= query values. A URL that does not parse is
// redacted whole when it may hold one.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		if len(ledger.RedisURLSecrets(raw)) > 0 || strings.Contains(raw, "@") {
			return RedactedMark
		}
		return raw
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	q := u.Query()
	changed := false
	for _, k := range []string{"password", "sentinel_password"} {
		if q.Get(k) != "" {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
