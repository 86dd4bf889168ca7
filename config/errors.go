package config

import (
	"bytes"
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
