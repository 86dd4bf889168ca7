package config_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

const minimal = `
dingtalk:
  client_id: dingapp
  client_secret: ${SECRET}
  robot_code: dingbot
admins: [manager4220]
http:
  token: ${TOKEN}
`

func TestParseConfigDefaultsAndExpansion(t *testing.T) {
	cfg, err := config.Parse([]byte(minimal), env(map[string]string{"SECRET": "s3cr3t: #not a comment", "TOKEN": "0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DingTalk.ClientSecret != "s3cr3t: #not a comment" {
		t.Errorf("secret = %q; expansion must not be re-parsed as YAML", cfg.DingTalk.ClientSecret)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8470" || cfg.Locale != "zh" || cfg.Ledger.Path != "recallbot.db" ||
		cfg.Recall.ConfirmTTL != 2*time.Minute || cfg.DingTalk.APIBase != "https://api.dingtalk.com" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestExampleConfigParses(t *testing.T) {
	b, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse(b, env(map[string]string{"DINGTALK_CLIENT_SECRET": "x", "RECALLBOT_HTTP_TOKEN": "0123456789abcdef"})); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	vars := env(map[string]string{"SECRET": "s", "TOKEN": "0123456789abcdef", "SHORT": "short"})
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key names key and line", minimal + "ledger:\n  pth: x.db\n", `line 10: unknown key "pth" in ledger`},
		{"unknown top-level key", "colour: blue\n" + minimal, `line 1: unknown key "colour" at the top level`},
		{"unset variable", strings.Replace(minimal, "${TOKEN}", "${NOPE}", 1), "line 8: environment variable NOPE is referenced but not set"},
		{"missing field", strings.Replace(minimal, "robot_code: dingbot", "robot_code: \"\"", 1), "dingtalk.robot_code: is required"},
		{"bad locale", minimal + "locale: fr\n", `locale: must be zh or en, not "fr"`},
		{"bad duration", minimal + "recall:\n  confirm_ttl: soon\n", `line 10: recall.confirm_ttl: "soon" is not a duration; write e.g. 2h or 90m`},
		{"no admins", strings.Replace(minimal, "admins: [manager4220]", "admins: []", 1), "admins: list at least one staffId"},
		{"short token", strings.Replace(minimal, "${TOKEN}", "${SHORT}", 1), "http.token: must be at least 16 characters"},
		{"literal token", strings.Replace(minimal, "${TOKEN}", "0123456789abcdefXYZ", 1), "line 8: http.token must be a ${VAR} reference"},
		{"literal secret", strings.Replace(minimal, "${SECRET}", "s3cret-in-the-file", 1), "dingtalk.client_secret must be a ${VAR} reference"},
		{"literal redis password", minimal + "ledger:\n  redis_url: redis://:s3cretRedisPW@127.0.0.1:6379/0\n", "line 10: the password in ledger.redis_url must be a ${VAR}"},
		{"literal redis user password", minimal + "ledger:\n  redis_url: redis://default:s3cretRedisPW@127.0.0.1:6379/0\n", "the password in ledger.redis_url must be"},
		{"literal sentinel password", minimal + "ledger:\n  redis_url: redis://s1:26379/0?master_name=x&password=LiteralPW99\n", "the password in ledger.redis_url must be"},
		{"redis password by reference", minimal + "ledger:\n  redis_url: redis://:${SECRET}@127.0.0.1:6379/0?master_name=x&password=${SECRET}\n", ""},
		{"qps 0", strings.Replace(minimal, "robot_code: dingbot", "robot_code: dingbot\n  qps: 0", 1), "dingtalk.qps: must be more than 0"},
		{"negative command burst", minimal + "commands:\n  burst: -1\n", "commands.burst: must be between 0 (no budget) and 1000"},
		{"command budget never refills", minimal + "commands:\n  every: 0s\n", "commands.every: must be more than 0"},
		{"negative failed logins", strings.Replace(minimal, "http:\n", "http:\n  failed_logins_per_minute: -1\n", 1), "http.failed_logins_per_minute: must be between 1 and 10000"},
		{"not YAML", "dingtalk: [", "not valid YAML"},
		{"empty", "", "the file is empty"},
		{"unknown key with a space", minimal + "ledger:\n  redis url: x\n", `line 10: unknown key "redis url" in ledger`},
		{"unknown key in a list", minimal + "autorecall:\n  rules:\n    - {name: x, patern: y}\n", `line 11: unknown key "patern" in an autorecall rule`},
		{"min_replicas without Redis", minimal + "ledger:\n  min_replicas: 1\n", "ledger.min_replicas: needs ledger.redis_url"},
		{"negative min_replicas", minimal + "ledger:\n  redis_url: redis://127.0.0.1:6379/0\n  min_replicas: -1\n", "ledger.min_replicas: must not be negative"},
		{"zero replica_timeout", minimal + "ledger:\n  replica_timeout: 0s\n", "ledger.replica_timeout: must be positive"},
		{"bad rule pattern", minimal + "autorecall:\n  rules:\n    - {name: x, pattern: 'a(b', action: block, mode: enforce}\n", "autorecall.rules[0] (x): invalid pattern at position 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml), vars)
			if tt.want == "" {
				if err != nil {
					t.Errorf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestConfigErrorsNeverShowSecrets(t *testing.T) {
	y := strings.Replace(minimal, "robot_code: dingbot", "robot_code: \"\"", 1)
	_, err := config.Parse([]byte(y), env(map[string]string{"SECRET": "hunter2-very-secret", "TOKEN": "0123456789abcdef"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(minimal)
	f.Add("dingtalk: {client_id: a}\n")
	f.Add("admins: [${X}]\n")
	f.Add("log: {level: info, format: json}\nlocale: en\n")
	vars := env(map[string]string{"SECRET": "s", "TOKEN": "0123456789abcdef", "X": "x"})
	f.Fuzz(func(t *testing.T, y string) {
		cfg, err := config.Parse([]byte(y), vars)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("config.Parse(%q) returned an invalid config: %v", y, verr)
			}
		}
	})
}

// TestRedisPasswordsAreSecrets: a Redis password, which comes in through
// ${VAR} in ledger.redis_url, is redacted from logs like the app's secret,
// in either URL form.
func TestRedisPasswordsAreSecrets(t *testing.T) {
	for _, url := range []string{
		"redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0",
		"redis://127.0.0.1:26379/0?master_name=recallbot&addr=127.0.0.1:26380&addr=127.0.0.1:26381&password=${REDIS_PASSWORD}",
	} {
		y := minimal + "ledger:\n  redis_url: " + url + "\n  min_replicas: 1\n"
		cfg, err := config.Parse([]byte(y), env(map[string]string{"SECRET": "s", "TOKEN": "0123456789abcdef", "REDIS_PASSWORD": "r3dis-pass-7c1e"}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Ledger.MinReplicas != 1 || cfg.Ledger.ReplicaTimeout != time.Second {
			t.Errorf("ledger = %+v", cfg.Ledger)
		}
		var buf strings.Builder
		log, _ := app.NewLogger(cfg.Log, &buf, cfg.Secrets())
		log.Info("connecting to " + cfg.Ledger.RedisURL)
		if strings.Contains(buf.String(), "r3dis-pass-7c1e") {
			t.Errorf("the Redis password reached the log: %s", buf.String())
		}
	}
}

// TestConfigErrorsNameTheLineAndKey: a YAML mistake is reported on the line
// that holds it, and a value of the wrong type names its key, the value and
// an example of a right one.
func TestConfigErrorsNameTheLineAndKey(t *testing.T) {
	vars := env(map[string]string{"SECRET": "s", "TOKEN": "0123456789abcdef"})
	// line 7 holds the unclosed "[".
	unclosed := "dingtalk:\n  client_id: dingapp\n  client_secret: ${SECRET}\n  robot_code: dingbot\nhttp:\n  token: ${TOKEN}\nadmins: [manager4220\nlocale: en\n"
	tests := []struct{ name, yaml, want string }{
		{"unclosed [ on line 7", unclosed, "line 7: not valid YAML: did not find expected ',' or ']' (a [ list that starts here is not closed)"},
		{"unclosed { on line 9", minimal + "log: {level: info\nlocale: en\n", "line 9: not valid YAML: did not find expected ',' or '}'"},
		{"a list item out of line", minimal + "admins:\n  - a\n  b: 2\n", "line 11: not valid YAML: did not find expected '-' indicator"},
		{"a key indented wrongly", minimal + "recall:\n  window: 2h\n max_last: 5\n", "line 11: not valid YAML: did not find expected key"},
		{"a tab (the scanner's line)", minimal + "recall:\n\twindow: 2h\n", "line 10: not valid YAML: found character that cannot start any token"},
		{"a value where none may be", minimal + "recall:\n  window: 2h\n    max_last: 5\n", "line 11: not valid YAML: mapping values are not allowed"},
		{"a bad duration", minimal + "recall:\n  window: 2 hours\n", `line 10: recall.window: "2 hours" is not a duration; write e.g. 2h or 90m`},
		{"a duration without a unit", minimal + "commands:\n  every: 3\n", `line 10: commands.every: "3" is not a duration; write e.g. 2h or 90m`},
		{"a duration in a flow map", minimal + "autorecall: {pause_for: soon}\n", `line 9: autorecall.pause_for: "soon" is not a duration`},
		{"not a number", minimal + "recall:\n  max_last: lots\n", `line 10: recall.max_last: "lots" is not a whole number`},
		{"not a float", strings.Replace(minimal, "robot_code: dingbot", "robot_code: dingbot\n  qps: fast", 1), `line 6: dingtalk.qps: "fast" is not a number`},
		{"not a bool", minimal + "autorecall:\n  enabled: maybe\n", `line 10: autorecall.enabled: "maybe" is not true or false`},
		{"not a list", strings.Replace(minimal, "admins: [manager4220]", "admins: manager4220", 1), `line 6: admins: "manager4220" is not a list`},
		{"a list for a value", minimal + "log: {level: info, format: [json]}\n", `line 9: log.format: a list is not a single value`},
		{"a value for a section", minimal + "recall: 5\n", `line 9: recall: "5" is not a section`},
		{"a rule's field", minimal + "autorecall:\n  rules:\n    - {name: x, action: block, mode: enforce}\n    - {name: y, action: [block]}\n", `line 12: autorecall.rules[1].action: a list is not a single value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml), vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestConfigErrorsNameNoGoType: every error about a key or a value names
// it as the file does (recall.window, in an autorecall rule), never by
// the Go type it decodes into.
func TestConfigErrorsNameNoGoType(t *testing.T) {
	vars := env(map[string]string{"SECRET": "s", "TOKEN": "0123456789abcdef"})
	goType := regexp.MustCompile(`\b(main|config|alerts|autorecall|time)\.[A-Z]|\[\]string|map\[|float64|int64`)
	for _, y := range []string{
		"- a\n- b\n",
		"hello\n",
		"!0",
		minimal + "recall: !0\n",
		minimal + "recall: [1]\n",
		minimal + "recall: 5\n",
		minimal + "alerts:\n  default: [x]\n",
		minimal + "alerts:\n  routes: 5\n",
		minimal + "alerts:\n  routes:\n    db: {grop: cid}\n",
		minimal + "alerts:\n  max_alerts: many\n",
		minimal + "autorecall:\n  rules: {name: x}\n",
		minimal + "autorecall:\n  rules:\n    - [x]\n",
		minimal + "dingtalk:\n  qps: {a: 1}\n",
		minimal + "ledger:\n  pth: x.db\n",
		"colour: blue\n" + minimal,
	} {
		_, err := config.Parse([]byte(y), vars)
		if err == nil {
			t.Errorf("config.Parse(%q) = nil, want an error", y)
			continue
		}
		if m := goType.FindString(err.Error()); m != "" {
			t.Errorf("config.Parse(%q) = %v: names the Go type %q", y, err, m)
		}
	}
}
