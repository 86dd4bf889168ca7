package autorecall

import (
	"strings"
	"testing"
)

func TestDetectors(t *testing.T) {
	rules, err := compile(append(DefaultRules[:2:2], Rule{Name: "internal-hosts", Pattern: `\bdb-\d+\.corp\.internal\b`, Action: Block, Mode: Enforce}), []string{"the-bots-own-client-secret"})
	if err != nil {
		t.Fatal(err)
	}
	match := func(content string) string {
		for _, r := range rules {
			if r.d == nil {
				continue
			}
			if _, ok := r.d.detect(content); ok {
				return r.Name
			}
		}
		return ""
	}
	mustTrigger := map[string]string{
		"-----BEGIN RSA PRIVATE KEY-----\nMIIEow...":                         "secrets",
		"-----BEGIN OPENSSH PRIVATE KEY-----":                                "secrets",
		"use AKIAIOSFODNN7EXAMPLE for the bucket":                            "secrets",
		"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J": "secrets",
		"access_token=8ca04016a2b5c6d7e8f90a1b2c3d4e5f":                      "secrets",
		"appSecret: Xq3_kd83JDk2mdk29DKmsk2dk29":                             "secrets",
		"db password=hunter2hunter2":                                         "secrets",
		"API_KEY: sk-live-abcdef123456":                                      "secrets",
		"配置 token=abc123def456 请查收":                                          "secrets",
		"it is the-bots-own-client-secret":                                   "secrets",
		"dsn=postgres://app:S3cretPassw0rd@db/x":                             "secrets",
		"see http://user:pass@internal.corp/secret":                          "secrets",
		"on call: {{ .OnCall }}":                                             "templates",
		"值班：${ONCALL_NAME}":                                                  "templates",
		"set password=${DB_PASSWORD} in the env":                             "templates",
		"Hello %s, your build failed":                                        "templates",
		"count: %d":                                                          "templates",
		"owner: <no value>":                                                  "templates",
		"负责人：undefined":                                                      "templates",
		"latency NaN ms":                                                     "templates",
		"assignee: null":                                                     "templates",
		"see db-7.corp.internal":                                             "internal-hosts",
	}
	for content, want := range mustTrigger {
		if got := match(content); got != want {
			t.Errorf("%q triggered %q, want %q", content, got, want)
		}
	}
	mustNot := []string{
		"价格 $19.99，优惠 20%",
		"磁盘使用率 93%，请处理",
		"CPU 100%! 内存 87%",
		"50%discount today",
		"cost is $5 and ${ rather than",
		"```go\nfmt.Printf(\"%s\\n\", name)\nif x == nil { return null }\n```",
		"use `{{ .Name }}` in your template",
		"password: ******",
		"token=<redacted>",
		"the token is valid for 2 hours",
		"null pointer exceptions are down 40%",
		"version v1.2 is out; see the changelog",
		"会议 15:00-16:00，地点 3 楼",
		"JWT 过期时间为 2 小时",
		"AKIA is a prefix; not a key",
		"nullable columns and undefinedBehaviour are words",
		"this is 100% done",
		"see http://user@internal.corp/ and mailto:ops@example.com",
		"http://prometheus:9090/graph?g0.expr=up",
	}
	for _, content := range mustNot {
		if got := match(content); got != "" {
			t.Errorf("%q triggered %q; it must not", content, got)
		}
	}
}

func TestRulesAreValidated(t *testing.T) {
	tests := []struct {
		rules []Rule
		want  string
	}{
		{[]Rule{{Name: "x", Pattern: `db-(\d+`, Action: Block, Mode: Enforce}}, "autorecall.rules[0] (x): invalid pattern at position 3"},
		{[]Rule{{Name: "x", Pattern: `a**`, Action: Block, Mode: Enforce}}, "invalid pattern at position 1"},
		{[]Rule{{Name: "x", Action: Block, Mode: Enforce}}, "needs a pattern"},
		{[]Rule{{Name: "secrets", Action: "delete", Mode: Enforce}}, "action must be block or recall"},
		{[]Rule{{Name: "secrets", Action: Block, Mode: "maybe"}}, "mode must be enforce or observe"},
		{[]Rule{{Name: "secrets", Action: Block, Mode: Enforce}, {Name: "secrets", Action: Block, Mode: Enforce}}, "used twice"},
		{[]Rule{{Action: Block, Mode: Enforce}}, "name is required"},
	}
	for _, tt := range tests {
		_, err := compile(tt.rules, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compile(%+v) = %v, want %q", tt.rules, err, tt.want)
		}
	}
}

func BenchmarkDetectors(b *testing.B) {
	rules, _ := compile(DefaultRules, []string{"the-bots-own-client-secret"})
	var sb strings.Builder
	for sb.Len() < 2048 {
		sb.WriteString("[告警] db-7 磁盘使用率 93%，请值班同学处理。Disk usage on db-7 is at 93 percent; please check the logs. ")
	}
	msg := sb.String()[:2048]
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		for _, r := range rules {
			if r.d != nil {
				r.d.detect(msg)
			}
		}
	}
}
