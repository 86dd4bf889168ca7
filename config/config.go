// Package config is recallbot's configuration: one YAML file, decoded
// strictly (an unknown key is an error naming its line), ${VAR} expanded
// from the environment so secrets stay out of the file, defaults in code,
// and validation whose errors name the key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/ledger"
)

// Config is recallbot's configuration: one YAML file, defaults in code,
// ${VAR} expanded from the environment so secrets stay out of the file.
// The keys shown in config.yaml are the public contract.
type Config struct {
	DingTalk DingTalk `yaml:"dingtalk"`
	// Admins are the staffIds allowed to recall and to read the audit.
	Admins []string `yaml:"admins"`
	Ledger Ledger   `yaml:"ledger"`
	HTTP   HTTP     `yaml:"http"`
	Log    Log      `yaml:"log"`
	// Locale is the language of replies: "zh" (default) or "en".
	Locale     string     `yaml:"locale"`
	Recall     Recall     `yaml:"recall"`
	AutoRecall AutoRecall `yaml:"autorecall"`
	Commands   Commands   `yaml:"commands"`
	// Alerts routes Alertmanager's and Grafana's notifications to chats.
	Alerts alerts.Config `yaml:"alerts"`
}

// Commands is the chat command budget of each sender who is not an
// admin: a token bucket per staffId, in each instance's memory, checked
// before anything is written. Admins have none.
type Commands struct {
	// Burst is how many commands a sender may send at once; 0 turns the
	// budget off.
	Burst int `yaml:"burst"`
	// Every is how often the sender earns one more.
	Every time.Duration `yaml:"every"`
}

// AutoRecall configures the bot's recalls of its own mistakes.
type AutoRecall struct {
	// Enabled turns the detectors, supersede/retract and self-destruct on.
	Enabled bool `yaml:"enabled"`
	// MaxPerMinute trips the circuit breaker.
	MaxPerMinute int `yaml:"max_per_minute"`
	// PauseFor is how long a tripped breaker pauses automatic recall.
	PauseFor time.Duration `yaml:"pause_for"`
	// DuplicateWindow: the same content to the same chat within it is a
	// duplicate.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// SelfDestructEvery is how often due self-destructs are recalled.
	SelfDestructEvery time.Duration `yaml:"self_destruct_every"`
	// Rules, in order; empty means the defaults (secrets and templates
	// blocked, duplicates observed).
	Rules []autorecall.Rule `yaml:"rules"`
}

// DingTalk holds the app's credentials and where DingTalk is.
type DingTalk struct {
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	RobotCode    string `yaml:"robot_code"`
	CoolAppCode  string `yaml:"cool_app_code"`
	// GroupCoolAppCode is sent with every group send when set: DingTalk
	// needs it from a bot installed in groups through a group cool app.
	GroupCoolAppCode string `yaml:"group_cool_app_code"`
	// APIBase is the OpenAPI and Stream gateway host.
	APIBase string `yaml:"api_base"`
	// QPS is the client-side pace per API; DingTalk allows 20 per app and API.
	QPS float64 `yaml:"qps"`
	// Timeout bounds each OpenAPI call.
	Timeout time.Duration `yaml:"timeout"`
	// KeepAlive is the idle time before the Stream client pings the socket
	// (minimum 3s).
	KeepAlive time.Duration `yaml:"keepalive"`
}

// Ledger selects and tunes the ledger store.
type Ledger struct {
	Path string `yaml:"path"`
	// RedisURL, when set, selects a shared Redis ledger instead of the
	// file at Path: one server, redis://[:PASSWORD@]HOST:PORT/DB, or a
	// primary that Sentinel fails over (recognised by master_name):
	// redis://SENTINEL1:26379/DB?master_name=NAME&addr=SENTINEL2:26379&addr=SENTINEL3:26379&password=PASSWORD
	// (password is the data servers'; userinfo, if any, the Sentinels').
	// Put passwords in as ${VAR}; they never reach a log line or an error.
	RedisURL string `yaml:"redis_url"`
	// RedisPrefix starts every key the ledger writes in Redis; default
	// "recallbot:". Two bots (two DingTalk apps) may share one database
	// with different prefixes; instances of one bot share one prefix.
	RedisPrefix string `yaml:"redis_prefix"`
	// MinReplicas, when above 0, makes each write that creates an entry or
	// records a key or an outcome wait (Redis WAIT) until that many
	// replicas have it, so that a failover cannot lose it. A write fewer
	// replicas acknowledged within ReplicaTimeout counts as a ledger
	// outage: a send is refused (503), a key goes to the spool (202) and
	// is replayed once replicas acknowledge again. 0 (the default) waits
	// for none. Needs RedisURL.
	MinReplicas int `yaml:"min_replicas"`
	// ReplicaTimeout bounds each wait for the replicas.
	ReplicaTimeout time.Duration `yaml:"replica_timeout"`
	// Spool is the local file where keys wait while the ledger cannot
	// take them; default path + ".spool", or with Redis the config file's
	// name with ".spool" beside it (config2.yaml: config2.spool), so
	// instances started from one directory with their own configs never
	// share one. Each process needs its own.
	Spool string `yaml:"spool"`
	// spoolNamed is set when Spool was derived from the config file's
	// name: a spool an older recallbot left at the old default is then
	// replayed at start (AdoptsLegacySpool).
	spoolNamed bool
	// Retention is how long entries are kept for audit and receipts.
	Retention time.Duration `yaml:"retention"`
}

// SpoolPath is the spool file the configuration names. A configuration
// that came from no file (the demo, embedding programs) keeps a Redis
// ledger's spool at LegacySpool in the working directory.
func (c Ledger) SpoolPath() string {
	switch {
	case c.Spool != "":
		return c.Spool
	case c.RedisURL == "":
		return c.Path + ".spool"
	}
	return LegacySpool
}

// LegacySpool is where a Redis ledger's spool was by default before it
// was named after the config file: in the working directory, shared by
// every instance started there (the second one could not start).
const LegacySpool = "recallbot.spool"

// NameSpoolAfter names the spool after the configuration file at path, as
// Load does for a Redis ledger without ledger.spool: path's name with
// ".spool" instead of its extension, beside it. Such a configuration
// adopts a spool an older recallbot left at LegacySpool.
func (c *Ledger) NameSpoolAfter(path string) {
	c.Spool, c.spoolNamed = spoolBeside(path), true
}

// AdoptsLegacySpool reports whether the spool was named after the
// configuration file, so that keys an older recallbot left at
// LegacySpool are to be replayed at start.
func (c Ledger) AdoptsLegacySpool() bool { return c.spoolNamed }

// spoolBeside is the default spool of a Redis ledger configured in the
// file at path: its name with ".spool" instead of its extension, in the
// same directory.
func spoolBeside(path string) string {
	s := strings.TrimSuffix(path, filepath.Ext(path)) + ".spool"
	if s == path { // a config file named *.spool
		s += ".spool"
	}
	return s
}

// HTTP is the local HTTP API.
type HTTP struct {
	Listen string `yaml:"listen"`
	Token  string `yaml:"token"`
	// Console serves the operator's console at /ui/ on the same listener,
	// behind a login with the same token (package console).
	Console bool `yaml:"console"`
	// FailedLoginsPerMinute is the console's budget of failed logins from
	// every address together; past it every login is refused (429)
	// before its token is compared, until it refills. 0 means 30.
	FailedLoginsPerMinute int `yaml:"failed_logins_per_minute"`
}

// Log selects the log level and encoding.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Recall tunes the recall commands.
type Recall struct {
	// MaxLast caps N in "/recall last N".
	MaxLast int `yaml:"max_last"`
	// ConfirmAbove is the number of messages above which a recall needs
	// /confirm.
	ConfirmAbove int `yaml:"confirm_above"`
	// ConfirmTTL is how long a confirmation code is valid.
	ConfirmTTL time.Duration `yaml:"confirm_ttl"`
	// Window is DingTalk's recall window: older messages are reported as
	// too old without an API call.
	Window time.Duration `yaml:"window"`
	// ReadStatusUpTo: a recall or preview of up to this many messages
	// asks DingTalk who has read each one first (one query call per
	// message); 0, the default, only when asked ("reads", --read-status,
	// "read_status": true).
	ReadStatusUpTo int `yaml:"read_status_up_to"`
}

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		DingTalk: DingTalk{APIBase: "https://api.dingtalk.com", QPS: 20, Timeout: 10 * time.Second, KeepAlive: 120 * time.Second},
		Ledger:   Ledger{Path: "recallbot.db", Retention: 30 * 24 * time.Hour, ReplicaTimeout: time.Second},
		HTTP:     HTTP{Listen: "127.0.0.1:8470", Console: true, FailedLoginsPerMinute: 30},
		Log:      Log{Level: "info", Format: "json"},
		Locale:   "zh",
		Recall:   Recall{MaxLast: 100, ConfirmAbove: 10, ConfirmTTL: 2 * time.Minute, Window: 24 * time.Hour},
		AutoRecall: AutoRecall{Enabled: true, MaxPerMinute: 50, PauseFor: 10 * time.Minute, DuplicateWindow: time.Minute,
			SelfDestructEvery: time.Second},
		Commands: Commands{Burst: 3, Every: 3 * time.Second},
	}
}

// Load reads, expands and validates a config file. A Redis
// ledger without ledger.spool gets its spool named after the file (see
// Ledger.Spool).
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(b, os.LookupEnv)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.Ledger.Spool == "" && cfg.Ledger.RedisURL != "" {
		cfg.Ledger.NameSpoolAfter(path)
	}
	return cfg, nil
}

// Parse parses YAML strictly: an unknown key is an error naming the
// key and its line, ${VAR} is expanded with lookup in every value (an unset
// variable is an error naming it), and the result is validated.
func Parse(b []byte, lookup func(string) (string, bool)) (Config, error) {
	cfg := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return Config{}, syntaxError(b, err)
	}
	if len(root.Content) == 0 {
		return Config{}, errors.New("the file is empty")
	}
	doc := root.Content[0]
	if err := checkKeys(b); err != nil {
		return Config{}, err
	}
	if err := checkSecretRefs(doc); err != nil {
		return Config{}, err
	}
	if err := expandEnv(doc, lookup); err != nil {
		return Config{}, err
	}
	if err := doc.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return Config{}, typeErrors(doc, te)
		}
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// checkKeys decodes the raw file with the YAML decoder's own strict mode
// (KnownFields), before ${VAR} expansion, and reports every unknown key
// with its line and the section it is in. Other decoding errors are left
// to the decode of the expanded file.
func checkKeys(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c Config
	var te *yaml.TypeError
	if err := dec.Decode(&c); !errors.As(err, &te) {
		return nil
	}
	var errs []error
	for _, e := range te.Errors {
		if m := unknownField.FindStringSubmatch(e); m != nil {
			errs = append(errs, fmt.Errorf("%s: unknown key %q %s", m[1], m[2], sections[m[3]]))
		}
	}
	return errors.Join(errs...)
}

// unknownField matches the decoder's "line 4: field x not found in type
// main.DingTalk".
var unknownField = regexp.MustCompile(`^(line \d+): field (\S+) not found in type (\S+)$`)

// sections names each configuration type as the file does.
var sections = map[string]string{
	"config.Config": "at the top level", "config.DingTalk": "in dingtalk", "config.Ledger": "in ledger",
	"config.HTTP": "in http", "config.Log": "in log", "config.Recall": "in recall",
	"config.AutoRecall": "in autorecall", "autorecall.Rule": "in an autorecall rule", "config.Commands": "in commands",
	"alerts.Config": "in alerts", "alerts.Target": "in an alerts route or default",
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} in every scalar value.
func expandEnv(n *yaml.Node, lookup func(string) (string, bool)) error {
	if n.Kind == yaml.ScalarNode {
		var missing string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := ref[2 : len(ref)-1]
			v, ok := lookup(name)
			if !ok && missing == "" {
				missing = name
			}
			return v
		})
		if missing != "" {
			return fmt.Errorf("line %d: environment variable %s is referenced but not set", n.Line, missing)
		}
		if n.Tag == "!!null" && n.Value != "" {
			n.Tag = "!!str"
		}
		return nil
	}
	for _, c := range n.Content {
		if err := expandEnv(c, lookup); err != nil {
			return err
		}
	}
	return nil
}

// secretFields are the keys whose value is a secret: in the file each
// must be a ${VAR} reference, so that the secret lives in the environment
// (a secrets manager, a systemd EnvironmentFile) and never in a file that
// is copied, committed or attached to a ticket.
var secretFields = [][2]string{{"dingtalk", "client_secret"}, {"http", "token"}}

// checkSecretRefs refuses a secret written into the file literally. The
// error names the key and line, never the value.
func checkSecretRefs(doc *yaml.Node) error {
	for _, f := range secretFields {
		v := mapValue(mapValue(doc, f[0]), f[1])
		if v == nil || v.Kind != yaml.ScalarNode || v.Value == "" || envRef.MatchString(v.Value) {
			continue
		}
		return fmt.Errorf("line %d: %s.%s must be a ${VAR} reference (for example ${%s}), not the secret itself: keep secrets in the environment",
			v.Line, f[0], f[1], map[string]string{"client_secret": "DINGTALK_CLIENT_SECRET", "token": "RECALLBOT_HTTP_TOKEN"}[f[1]])
	}
	if v := mapValue(mapValue(doc, "ledger"), "redis_url"); v != nil && v.Kind == yaml.ScalarNode {
		for _, pw := range redisPasswords(v.Value) {
			if pw != "" && !envRef.MatchString(pw) {
				return fmt.Errorf("line %d: the password in ledger.redis_url must be a ${VAR} reference (for example redis://:${RECALLBOT_REDIS_PASSWORD}@host:6379/0), not the password itself: keep secrets in the environment", v.Line)
			}
		}
	}
	return nil
}

var (
	urlUserinfo = regexp.MustCompile(`^[A-Za-z+]+://([^@/?#]*)@`)
	urlPassword = regexp.MustCompile(`[?&](?:sentinel_)?password=([^&#]*)`)
)

// redisPasswords are the passwords a redis_url as written holds: the one
// in its userinfo and password= or sentinel_password= in its query.
func redisPasswords(raw string) []string {
	var out []string
	if m := urlUserinfo.FindStringSubmatch(raw); m != nil {
		if _, pw, ok := strings.Cut(m[1], ":"); ok {
			out = append(out, pw)
		}
	}
	for _, m := range urlPassword.FindAllStringSubmatch(raw, -1) {
		out = append(out, m[1])
	}
	return out
}

// mapValue is the value of key in mapping node n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

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
