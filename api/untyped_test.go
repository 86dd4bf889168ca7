package api_test

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIBodiesAreTyped: no production code on either side of the HTTP API
// (this package, the operator, the server, the console, the alert
// receiver, and the operator's commands in package cli, which call the
// API through Client) builds or reads a body as map[string]any: each body
// has one typed definition, here, and package cli declares no JSON struct
// of its own. (The bot's DingTalk cards are DingTalk's JSON,
// not the API's; they are not looked at.)
func TestAPIBodiesAreTyped(t *testing.T) {
	var files []string
	for _, pattern := range []string{"*.go", "../operator/*.go", "../httpapi/*.go", "../console/*.go", "../alerts/receiver.go", "../cli/*.go"} {
		m, err := filepath.Glob(pattern)
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: %v %v", pattern, m, err)
		}
		files = append(files, m...)
	}
	fset := gotoken.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		cli := strings.HasPrefix(name, "../cli/")
		ast.Inspect(f, func(n ast.Node) bool {
			if m, ok := n.(*ast.MapType); ok && isIdent(m.Key, "string") && isAny(m.Value) {
				t.Errorf("%s: map[string]any: give the body a type in package api", fset.Position(m.Pos()))
			}
			// The CLI reads the API through Client: a struct of its own
			// with JSON tags is a copy of a body package api defines.
			if fld, ok := n.(*ast.Field); ok && cli && fld.Tag != nil && strings.Contains(fld.Tag.Value, "json:") {
				t.Errorf("%s: a JSON field in package cli: read the answer as package api's type", fset.Position(fld.Pos()))
			}
			return true
		})
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isAny(e ast.Expr) bool {
	if isIdent(e, "any") {
		return true
	}
	i, ok := e.(*ast.InterfaceType)
	return ok && len(i.Methods.List) == 0
}
