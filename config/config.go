// Package config is recallbot's configuration: one YAML file, decoded
// strictly (an unknown key is an error naming its line), ${VAR} expanded
// from the environment so secrets stay out of the file, defaults in code,
// and validation whose errors name the key.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/autorecall"
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
	// CrowdBurst and CrowdEvery are one budget shared by everyone who is
	// not an admin, on top of each sender's: many senders each within
	// their own budget cannot flood the bot together.
	CrowdBurst int           `yaml:"crowd_burst"`
	CrowdEvery time.Duration `yaml:"crowd_every"`
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
	// (minimum 3s); a ping not answered in 5 s closes it and the client
	// connects anew. Default 60s: DingTalk writes to a live connection more
	// often than that (its own pings), so a minute of silence is a dead
	// connection, and the SDK's own default (120s) kept a dead one "ready"
	// for two minutes.
	KeepAlive time.Duration `yaml:"keepalive"`
	// InFlight fixes how many calls a recall or a broadcast keeps on the
	// wire. 0, the default, sizes them from the measured round trip and
	// the pace (Little's law, 4 to 64), which is what keeps the pace busy
	// with DingTalk far away; a fixed number is for an operator who wants
	// fewer calls in doubt should the process die mid-broadcast, and for
	// tests that catch exactly the first calls.
	InFlight int `yaml:"in_flight"`
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
		DingTalk: DingTalk{APIBase: "https://api.dingtalk.com", QPS: 20, Timeout: 10 * time.Second, KeepAlive: 60 * time.Second},
		Ledger:   Ledger{Path: "recallbot.db", Retention: 30 * 24 * time.Hour, ReplicaTimeout: time.Second},
		HTTP:     HTTP{Listen: "127.0.0.1:8470", Console: true, FailedLoginsPerMinute: 30},
		Log:      Log{Level: "info", Format: "json"},
		Locale:   "zh",
		Recall:   Recall{MaxLast: 100, ConfirmAbove: 10, ConfirmTTL: 2 * time.Minute, Window: 24 * time.Hour},
		AutoRecall: AutoRecall{Enabled: true, MaxPerMinute: 50, PauseFor: 10 * time.Minute, DuplicateWindow: time.Minute,
			SelfDestructEvery: time.Second},
		Commands: Commands{Burst: 3, Every: 3 * time.Second, CrowdBurst: 20, CrowdEvery: time.Second},
	}
}

// Load reads, expands and validates a config file. A Redis
// ledger without ledger.spool gets its spool named after the file (see
// Ledger.Spool).
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("config: there is no file %s: name yours with -config FILE, or write one that runs against the emulator with: recallbot sim -write-config %s", path, path)
	}
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

// configType is the type the file decodes into, for the walks that check
// its keys and values (keys.go).
var configType = reflect.TypeFor[Config]()

// Parse parses YAML strictly: an unknown key is an error naming the key
// and its line, ${VAR} is expanded with lookup in every value (an unset
// variable is an error naming it), a value of the wrong type names its
// key, and the result is validated.
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
	if err := repeatedKeys(doc); err != nil {
		return Config{}, err
	}
	if errs := unknownKeys(doc, configType, ""); len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := checkSecretRefs(doc); err != nil {
		return Config{}, err
	}
	if err := expandEnv(doc, lookup); err != nil {
		return Config{}, err
	}
	if errs := wrongTypes(doc, configType, ""); len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := doc.Decode(&cfg); err != nil {
		return Config{}, decodeErrors(err)
	}
	return cfg, cfg.Validate()
}
