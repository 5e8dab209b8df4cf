package api

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoStore: failures reach HTTP classified through errdefs where they
// are born, and httpError maps the kinds; the HTTP layer that knew the
// store's own errors would be a second vocabulary.
func TestNoStore(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources: %v", err)
	}
	for _, f := range files {
		pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pf.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/instruktai/teleclaude/internal/store" && !isTest(f) {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}

func isTest(name string) bool { return strings.HasSuffix(name, "_test.go") }
