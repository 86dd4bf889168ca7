package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The YAML decoder's errors, said so that a person can fix the file: the
// line that is wrong, the key, the value and an example of a right one.

// syntaxError rewrites the YAML parser's "yaml: line N: problem". The
// decoder (go.yaml.in/yaml/v3, parser.fail) numbers lines from 1 for the
// scanner's errors but from 0 for the parser's: an unclosed "[" on line 7
// comes out as "line 6". The parser's problems are a short, fixed list,
// so those get the line they mean.
func syntaxError(b []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if hint, ok := parserProblems[msg]; ok {
		line = problemLine(b, line+1, msg) // the parser's line counts from 0
		if hint != "" {
			msg += " (" + hint + ")"
		}
	}
	if line == 0 {
		return fmt.Errorf("not valid YAML: %s", msg)
	}
	return fmt.Errorf("line %d: not valid YAML: %s", line, msg)
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// problemLine narrows a parser problem down to its line. The parser names
// where the construct it was reading began (a block mapping's first key,
// a list's first item), and the mistake may be lines further on: the
// first prefix of the file, from that line on, that fails with the same
// problem ends on it.
func problemLine(b []byte, from int, problem string) int {
	lines := bytes.SplitAfter(b, []byte("\n"))
	for k := max(from, 1); k <= len(lines) && k < from+maxProblemSearch; k++ {
		var n yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		if err == nil {
			continue
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			msg = m[2]
		}
		if msg == problem {
			return k
		}
	}
	return from
}

// maxProblemSearch bounds problemLine's parses (each of a prefix): a
// configuration file is a few hundred lines.
const maxProblemSearch = 1000

// parserProblems are the problems the YAML parser (not its scanner)
// reports, each with a hint for the common mistake behind it.
var parserProblems = map[string]string{
	"did not find expected ',' or ']'":       "a [ list that starts here is not closed",
	"did not find expected ',' or '}'":       "a { map that starts here is not closed",
	"did not find expected key":              "check the indentation of the lines from here",
	"did not find expected '-' indicator":    "a line of the list that starts here is not one of its items",
	"did not find expected node content":     "a value is missing",
	"did not find expected <document start>": "",
	"did not find expected <stream-start>":   "",
	"found duplicate %TAG directive":         "",
	"found duplicate %YAML directive":        "",
	"found incompatible YAML document":       "",
	"found undefined tag handle":             "",
}

// typeErrors rewrites the decoder's "line N: cannot unmarshal !!str `x`
// into time.Duration" as "line N: recall.window: "x" is not a duration;
// write e.g. 2h or 90m", finding the key by the value's line in doc.
func typeErrors(doc *yaml.Node, te *yaml.TypeError) error {
	var errs []error
	for _, e := range te.Errors {
		m := cannotUnmarshal.FindStringSubmatch(e)
		if m == nil {
			errs = append(errs, errors.New(e))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		value, into := m[3], m[4]
		key, n := keyAt(doc, "", line, m[2], value)
		if n == nil {
			key = "a value"
		} else if n.Kind == yaml.ScalarNode {
			value = n.Value // the decoder cuts long values short
		}
		errs = append(errs, fmt.Errorf("line %d: %s: %s", line, key, wrongType(m[2], value, into)))
	}
	return errors.Join(errs...)
}

// cannotUnmarshal matches "line 10: cannot unmarshal !!str `soon` into
// time.Duration" (the value is absent for maps and lists).
var cannotUnmarshal = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")

// wrongType says what is wrong with a value of YAML tag tag and what to
// write instead.
func wrongType(tag, value, into string) string {
	shown := strconv.Quote(value)
	switch tag {
	case "!!map":
		shown = "a map of keys"
	case "!!seq":
		shown = "a list"
	}
	switch {
	case into == "time.Duration":
		return shown + " is not a duration; write e.g. 2h or 90m"
	case strings.HasPrefix(into, "int") || strings.HasPrefix(into, "uint"):
		return shown + " is not a whole number; write e.g. 10"
	case strings.HasPrefix(into, "float"):
		return shown + " is not a number; write e.g. 20 or 2.5"
	case into == "bool":
		return shown + " is not true or false"
	case strings.HasPrefix(into, "[]"):
		return shown + " is not a list; write e.g. [a, b] or one \"- item\" per line"
	case strings.HasPrefix(into, "map[") || sections[into] != "":
		return shown + " is not a section; write its keys on the lines below, indented"
	case into == "string" || strings.Contains(into, "."): // a named string type, such as autorecall.Action
		return shown + " is not a single value; write it on one line, e.g. key: value"
	}
	return fmt.Sprintf("%s cannot be read as %s", shown, into)
}

// keyAt is the dotted key (recall.window, admins[0]) of the node on
// line of the YAML tag tag whose value starts with value (the decoder
// cuts long values short with "...").
func keyAt(n *yaml.Node, path string, line int, tag, value string) (string, *yaml.Node) {
	value = strings.TrimSuffix(value, "...")
	match := func(v *yaml.Node) bool {
		if v.Line != line {
			return false
		}
		switch tag {
		case "!!map":
			return v.Kind == yaml.MappingNode
		case "!!seq":
			return v.Kind == yaml.SequenceNode
		}
		return v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, value)
	}
	var children []*yaml.Node
	var paths []string
	switch n.Kind {
	case yaml.DocumentNode:
		children, paths = n.Content, make([]string, len(n.Content))
		for i := range paths {
			paths[i] = path
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			children, paths = append(children, n.Content[i+1]), append(paths, p)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			children, paths = append(children, v), append(paths, fmt.Sprintf("%s[%d]", path, i))
		}
	}
	for i, v := range children {
		if n.Kind != yaml.DocumentNode && match(v) {
			return paths[i], v
		}
		if k, found := keyAt(v, paths[i], line, tag, value); found != nil {
			return k, found
		}
	}
	return "", nil
}
