package e2e

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/recallbot/recallbot"

// TestImportsFollowTheDrawing holds the packages to docs/ARCHITECTURE.md's
// drawing: the block of arrows lists exactly what each package imports of
// the project (an import it does not show, an arrow that is gone or a
// package left out fails), no import points up a tier of the picture, and
// a few rules hold whatever the page says.
func TestImportsFollowTheDrawing(t *testing.T) {
	t.Parallel()
	real := projectImports(t)
	doc, err := os.ReadFile("../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	drawn, tiers := readDrawing(t, string(doc))

	for pkg, imports := range real {
		want, ok := drawn[pkg]
		if !ok {
			t.Errorf("package %s is not in docs/ARCHITECTURE.md's block of arrows: draw it", pkg)
			continue
		}
		for _, imp := range imports {
			if !slices.Contains(want, imp) {
				t.Errorf("%s imports %s, which the drawing does not show: draw the arrow if it belongs, or take the import out", pkg, imp)
			}
			if tp, ok := tiers[pkg]; ok {
				if ti, ok := tiers[imp]; ok && ti >= tp {
					t.Errorf("%s (tier %d) imports %s (tier %d): imports point down a tier", pkg, tp, imp, ti)
				}
			}
		}
		for _, imp := range want {
			if !slices.Contains(imports, imp) {
				t.Errorf("the drawing shows %s -> %s, which is gone: take the arrow out", pkg, imp)
			}
		}
	}
	for pkg := range drawn {
		if _, ok := real[pkg]; !ok {
			t.Errorf("the drawing lists %s, which is not a package", pkg)
		}
	}
	for pkg := range tiers {
		if _, ok := real[pkg]; !ok {
			t.Errorf("the picture puts %s in a tier, and it is not a package", pkg)
		}
	}

	// The rules no edit of the page loosens.
	for pkg, imports := range real {
		for _, imp := range imports {
			switch {
			case imp == "cli" && pkg != "main",
				imp == "app" && pkg != "cli" && pkg != "demo",
				imp == "config" && pkg != "cli" && pkg != "demo" && pkg != "app":
				t.Errorf("%s imports %s: only the packages above app may", pkg, imp)
			case (pkg == "httpapi" && imp == "console") || (pkg == "console" && imp == "httpapi"):
				t.Errorf("%s imports %s: they share the operator's actions, never each other", pkg, imp)
			case (pkg == "stream" || pkg == "ledger" || pkg == "dingtalk") && !strings.HasPrefix(imp, "internal/"):
				t.Errorf("%s imports %s: it must know nothing of the project's domain", pkg, imp)
			case pkg == "api":
				t.Errorf("api imports %s: it must need nothing but the standard library", imp)
			}
		}
	}
	if std := apiNonStdImports(t); len(std) > 0 {
		t.Errorf("api imports %v: a Go program must get it with nothing but the standard library", std)
	}
}

// projectImports is what each of the module's packages imports of the
// module in its production files, as go build sees them, by path
// relative to the module ("main" for the root).
func projectImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel("..", path)
		name := filepath.ToSlash(rel)
		if name == "." {
			name = "main"
		}
		imports := []string{}
		if len(p.GoFiles) == 0 { // tests only, like e2e
			out[name] = imports
			return nil
		}
		for _, imp := range p.Imports {
			if imp == module {
				imports = append(imports, "main")
			} else if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				imports = append(imports, rest)
			}
		}
		out[name] = imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apiNonStdImports lists what package api imports from outside the
// standard library (a path whose first element has a dot).
func apiNonStdImports(t *testing.T) []string {
	t.Helper()
	p, err := build.ImportDir("../api", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, imp := range p.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") {
			out = append(out, imp)
		}
	}
	return out
}

var (
	arrowLine = regexp.MustCompile(`^(\S+)\s+->(.*)$`)
	tierLine  = regexp.MustCompile(`^tier (\d+)\s+(.*)$`)
	pkgWord   = regexp.MustCompile(`^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)*$`)
)

// readDrawing reads the block of arrows after its marker, and the tier of
// each package the picture names on a "tier N" line.
func readDrawing(t *testing.T, doc string) (map[string][]string, map[string]int) {
	t.Helper()
	_, after, ok := strings.Cut(doc, "<!-- imports: TestImportsFollowTheDrawing")
	if !ok {
		t.Fatal("docs/ARCHITECTURE.md has no <!-- imports: TestImportsFollowTheDrawing --> block")
	}
	_, after, _ = strings.Cut(after, "```\n")
	block, _, _ := strings.Cut(after, "```")
	drawn := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		m := arrowLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			t.Fatalf("docs/ARCHITECTURE.md: %q is not \"package -> imports\"", line)
		}
		drawn[m[1]] = strings.Fields(m[2])
	}
	tiers := map[string]int{}
	for _, line := range strings.Split(doc, "\n") {
		m := tierLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		for _, w := range strings.Fields(m[2]) {
			if pkgWord.MatchString(w) {
				tiers[w] = n
			}
		}
	}
	if len(drawn) < 20 || len(tiers) < 10 {
		t.Fatalf("docs/ARCHITECTURE.md: read %d arrows' lines and %d tiers; the drawing was not found", len(drawn), len(tiers))
	}
	return drawn, tiers
}
