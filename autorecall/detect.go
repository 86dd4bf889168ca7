// Package autorecall is the bot's second user: the bot itself. It inspects
// every outgoing message for mistakes (leaked secrets, unrendered templates,
// duplicates, custom patterns) and blocks or recalls them; it supersedes,
// retracts and self-destructs messages on request; and it never does more
// than its circuit breaker allows. Every automatic recall goes through the
// recall engine, is audited with its rule and reason, counted, and reported
// to the admins once per incident.
package autorecall

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Action is what a rule does with a message it matches.
type Action string

// Actions.
const (
	// Block refuses the message before it is sent; the caller gets an error.
	Block Action = "block"
	// Recall sends it, then recalls it at once: for rules that judge after
	// the fact, and for callers that want the message to exist briefly.
	Recall Action = "recall"
)

// Mode is whether a rule acts or only reports what it would do.
type Mode string

// Modes.
const (
	Enforce Mode = "enforce"
	Observe Mode = "observe" // log and count, for trying a rule safely
)

// Rule configures one detector.
type Rule struct {
	// Name is a built-in detector (secrets, templates, duplicates) or the
	// name of a custom rule, which needs Pattern.
	Name    string `yaml:"name"`
	Pattern string `yaml:"pattern"`
	Action  Action `yaml:"action"`
	Mode    Mode   `yaml:"mode"`
}

// Built-in detector names.
const (
	RuleSecrets    = "secrets"
	RuleTemplates  = "templates"
	RuleDuplicates = "duplicates"
)

// DefaultRules block secrets and unrendered templates, and observe
// duplicates (an upstream retry may be intended: try it before enforcing).
var DefaultRules = []Rule{
	{Name: RuleSecrets, Action: Block, Mode: Enforce},
	{Name: RuleTemplates, Action: Block, Mode: Enforce},
	{Name: RuleDuplicates, Action: Block, Mode: Observe},
}

// Finding is one rule matching one message.
type Finding struct {
	Rule   Rule
	Reason string // what matched, in words, never the secret itself
}

// detector finds problems in a message's content.
type detector interface {
	detect(content string) (reason string, found bool)
}

// patterns is a detector of several labelled regular expressions.
type patterns []labelled

// labelled is a pattern and its prefilter: Go's regexp scans every byte of
// a pattern that does not begin with a literal, so each pattern names the
// substrings one of which must be present (hints, matched case-sensitively,
// or against the lower-cased text when fold is set) before it runs. Typical
// messages then cost a few substring searches.
type labelled struct {
	label string
	re    *regexp.Regexp
	hints []string
	fold  bool
}

func (l labelled) match(content, lower string) bool {
	if len(l.hints) > 0 {
		in := content
		if l.fold {
			in = lower
		}
		hit := false
		for _, h := range l.hints {
			if strings.Contains(in, h) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return l.re.MatchString(content)
}

func (p patterns) detect(content string) (string, bool) {
	return p.detectLower(content, asciiLower(content))
}

func (p patterns) detectLower(content, lower string) (string, bool) {
	for _, l := range p {
		if l.match(content, lower) {
			return l.label, true
		}
	}
	return "", false
}

var assignmentHints = []string{"password", "passwd", "pwd", "token", "secret", "api"}

// secretPatterns are the built-in leaked-secret shapes.
var secretPatterns = patterns{
	// A PEM key's secret is its body: the block is matched from its BEGIN
	// line through its END line, or to the end of the text when that line
	// was cut off (an excerpt, a summary cut to length), so that Redact
	// hides all of it. (An EC key's first body line holds the whole
	// private scalar.)
	{"a PEM private key", regexp.MustCompile(`-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)`), nil, false},
	{"an AWS access key id", regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b`), []string{"AKIA", "ASIA", "AGPA", "AIDA", "AROA"}, false},
	{"a JSON Web Token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`), []string{"eyJ"}, false},
	{"a DingTalk access token", regexp.MustCompile(`(?i)(?:x-acs-dingtalk-access-token|access_?token)["']?\s*[:=]\s*["']?[0-9a-f]{32}\b`), []string{"access"}, true},
	{"a DingTalk app secret", regexp.MustCompile(`(?i)\b(?:app_?secret|client_?secret|suite_?secret)["']?\s*[:=]\s*["']?[A-Za-z0-9_-]{20,}`), []string{"secret"}, true},
	{"a URL with a password", regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]+:[^\s/?#@]+@`), []string{"://"}, false},
	{"a password or token assignment", regexp.MustCompile(`(?i)\b(?:password|passwd|pwd|token|secret|api[_-]?key)["']?\s*[:=]\s*["']?[^\s"'<>*]{6,}`), assignmentHints, true},
}

// placeholder values that look like assignments but hide nothing.
var placeholder = regexp.MustCompile(`(?i)(?:password|passwd|pwd|token|secret|api[_-]?key)["']?\s*[:=]\s*["']?(?:\*+|x{3,}|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|redacted|\[redacted\]|changeme|\.\.\.)`)

type secrets struct{ extra []string }

func (s secrets) detect(content string) (string, bool) {
	for _, v := range s.extra { // the bot's own secrets, exactly
		if len(v) >= 8 && strings.Contains(content, v) {
			return "one of the bot's own credentials", true
		}
	}
	lower := asciiLower(content)
	if containsAny(lower, assignmentHints) {
		content = placeholder.ReplaceAllString(content, "")
		lower = asciiLower(content)
	}
	return secretPatterns.detectLower(content, lower)
}

// templatePatterns are text a template engine should have replaced.
var templatePatterns = patterns{
	{"an unrendered {{ }} template", regexp.MustCompile(`\{\{[^{}]*\}\}`), nil, false},
	{"an unexpanded ${…} variable", regexp.MustCompile(`\$\{[A-Za-z_][^{}]*\}`), nil, false},
	{`a Go template's "<no value>"`, regexp.MustCompile(`<no value>`), nil, false},
	{"a NaN", regexp.MustCompile(`\bNaN\b`), []string{"NaN"}, false},
	{"a lone undefined or null value", regexp.MustCompile(`(?m)(?:[:：=]\s*(?:undefined|null)\b|^\s*(?:undefined|null)\s*$)`), []string{"undefined", "null"}, false},
}

// asciiLower lower-cases ASCII letters only: the hints are ASCII, and
// strings.ToLower's Unicode tables cost ten times more on Chinese text.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// printfVerb finds a printf verb (%s, %v, %-5d, %.2f …) standing on its
// own: not after a digit or a letter ("93%" and "50%discount" are prose).
// A hand-written scan: the equivalent regexp costs ~60 µs per 2 KB.
func printfVerb(s string) bool {
	isAlnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	for i := strings.IndexByte(s, '%'); i >= 0; {
		if i == 0 || !(isAlnum(s[i-1]) || s[i-1] == '%') {
			j := i + 1
			if j < len(s) && strings.IndexByte("-+# 0", s[j]) >= 0 {
				j++
			}
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j < len(s) && s[j] == '.' {
				j++
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
			}
			if j < len(s) && strings.IndexByte("svdqxTf", s[j]) >= 0 && (j+1 == len(s) || !isAlnum(s[j+1])) {
				return true
			}
		}
		next := strings.IndexByte(s[i+1:], '%')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// codeSpans removes markdown code (fenced blocks and `inline` code), where
// braces, % and null are expected.
var codeSpans = regexp.MustCompile("(?s)```.*?```|`[^`\n]*`")

type templates struct{}

func (templates) detect(content string) (string, bool) {
	if strings.Contains(content, "`") {
		content = codeSpans.ReplaceAllString(content, " ")
	}
	if printfVerb(content) {
		return "a printf verb such as %s", true
	}
	return templatePatterns.detect(content)
}

// Validate checks rules as the Service would at startup: an invalid
// pattern is an error naming the rule and the position in the pattern.
func Validate(rules []Rule) error {
	_, err := compile(rules, nil)
	return err
}

// compile validates rules and builds their detectors. An invalid pattern
// is an error naming the rule and the position in the pattern.
func compile(rules []Rule, ownSecrets []string) ([]compiled, error) {
	var out []compiled
	seen := map[string]bool{}
	for i, r := range rules {
		where := fmt.Sprintf("autorecall.rules[%d] (%s)", i, r.Name)
		switch {
		case r.Name == "":
			return nil, fmt.Errorf("autorecall.rules[%d]: name is required", i)
		case seen[r.Name]:
			return nil, fmt.Errorf("%s: the name is used twice", where)
		case r.Action != Block && r.Action != Recall:
			return nil, fmt.Errorf("%s: action must be block or recall, not %q", where, r.Action)
		case r.Mode != Enforce && r.Mode != Observe:
			return nil, fmt.Errorf("%s: mode must be enforce or observe, not %q", where, r.Mode)
		}
		seen[r.Name] = true
		c := compiled{Rule: r}
		switch {
		case r.Name == RuleSecrets && r.Pattern == "":
			c.d = secrets{extra: ownSecrets}
		case r.Name == RuleTemplates && r.Pattern == "":
			c.d = templates{}
		case r.Name == RuleDuplicates && r.Pattern == "":
			c.duplicates = true
		case r.Pattern == "":
			return nil, fmt.Errorf("%s: a custom rule needs a pattern (built-ins are secrets, templates and duplicates)", where)
		default:
			re, err := regexp.Compile(r.Pattern)
			if err != nil {
				return nil, fmt.Errorf("%s: %s", where, patternProblem(r.Pattern, err))
			}
			c.d = patterns{{label: "the pattern of rule " + r.Name, re: re}}
		}
		out = append(out, c)
	}
	return out, nil
}

// patternProblem says what is wrong with a pattern and where.
func patternProblem(pattern string, err error) string {
	var se *syntax.Error
	if e, ok := err.(*syntax.Error); ok {
		se = e
	}
	if se == nil {
		return "invalid pattern: " + err.Error()
	}
	pos := max(strings.Index(pattern, se.Expr), 0)
	if se.Code == syntax.ErrMissingParen {
		pos = max(strings.LastIndex(pattern, "("), 0) // the parenthesis left open
	}
	return fmt.Sprintf("invalid pattern at position %d (%q): %s", pos, se.Expr, se.Code)
}

// compiled is a validated rule and its detector.
type compiled struct {
	Rule
	d          detector
	duplicates bool // decided against the ledger, not the content alone
}
