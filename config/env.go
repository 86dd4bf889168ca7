package config

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// envRef is a ${VAR} reference in a value.
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

// A redis_url's passwords: the userinfo's and password= or sentinel_password=.
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
