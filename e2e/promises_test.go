package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testName is a test, benchmark, fuzz target or example named in backquotes,
// with the path of a subtest after it if any (TestShutdown/finishes_a_recall).
var testName = regexp.MustCompile("`((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)((?:/[^`]+)?)`")

// TestPromisesNameRealTests holds docs/promises.md to its word: every test a
// promise names exists, and so does each subtest it names (t.Run's name as
// go test prints it, spaces as underscores; a * stands for any). A renamed or
// deleted test would otherwise leave a promise that nothing holds.
func TestPromisesNameRealTests(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/promises.md")
	if err != nil {
		t.Fatal(err)
	}
	funcs, sources := declaredTests(t)
	named := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		for _, m := range testName.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			named++
			if !funcs[m[1]] {
				t.Errorf("docs/promises.md names %s, which no _test.go file declares", m[0])
				continue
			}
			for _, sub := range strings.Split(strings.TrimPrefix(m[2], "/"), "/") {
				if sub == "" || sub == "*" {
					continue
				}
				quoted := `"` + strings.ReplaceAll(sub, "_", " ") + `"`
				if !strings.Contains(sources, quoted) && !strings.Contains(sources, `"`+sub+`"`) {
					t.Errorf("docs/promises.md names %s, but no test runs a subtest %s", m[0], quoted)
				}
			}
		}
	}
	if named < 100 {
		t.Errorf("docs/promises.md names %d tests; its tables were not read (want more than 100)", named)
	}
}

// declaredTests reads every _test.go file of the module (and the packages
// tests import for their cases, such as ledgertest): the names of the
// top-level test functions, and all the source text, where subtests' names
// are found.
func declaredTests(t *testing.T) (map[string]bool, string) {
	t.Helper()
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)\(`)
	funcs := map[string]bool{}
	var all strings.Builder
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		all.Write(b)
		if strings.HasSuffix(path, "_test.go") {
			for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
				funcs[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return funcs, all.String()
}
