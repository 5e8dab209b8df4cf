package pkgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestGoreleaserMatchesNfpm keeps the packages of .goreleaser.yaml the same
// as those of packaging/nfpm.yaml (make packages): metadata, dependencies,
// scripts and every content entry but the programs, which goreleaser adds
// from its builds. The two files spell a few keys differently.
func TestGoreleaserMatchesNfpm(t *testing.T) {
	root := filepath.Join("..", "..")
	var nf map[string]any
	readYAML(t, filepath.Join(root, "packaging", "nfpm.yaml"), &nf)
	var gr struct {
		NFPMs []map[string]any `yaml:"nfpms"`
	}
	readYAML(t, filepath.Join(root, ".goreleaser.yaml"), &gr)
	if len(gr.NFPMs) != 1 {
		t.Fatalf(".goreleaser.yaml has %d nfpms entries, want 1", len(gr.NFPMs))
	}
	g := gr.NFPMs[0]
	if g["bindir"] != "/usr/bin" {
		t.Errorf("goreleaser bindir = %v, want /usr/bin", g["bindir"])
	}

	same := func(what string, a, b any) {
		t.Helper()
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs:\n  nfpm.yaml:        %v\n  .goreleaser.yaml: %v", what, a, b)
		}
	}
	same("name", nf["name"], g["package_name"])
	same("depends", nf["depends"], g["dependencies"])
	for _, k := range []string{"maintainer", "vendor", "homepage", "license", "section", "priority", "description", "changelog", "recommends", "suggests", "rpm", "deb"} {
		same(k, nf[k], g[k])
	}
	no, _ := nf["overrides"].(map[string]any)
	gro, _ := g["overrides"].(map[string]any)
	for _, format := range []string{"deb", "rpm"} {
		a, _ := no[format].(map[string]any)
		b, _ := gro[format].(map[string]any)
		if b != nil {
			if d, ok := b["dependencies"]; ok {
				b["depends"] = d
				delete(b, "dependencies")
			}
		}
		same("overrides."+format, a, b)
	}

	var programs []string
	var rest []any
	for _, c := range nf["contents"].([]any) {
		dst, _ := c.(map[string]any)["dst"].(string)
		if strings.HasPrefix(dst, "/usr/bin/") {
			programs = append(programs, filepath.Base(dst))
			continue
		}
		rest = append(rest, c)
	}
	same("programs in /usr/bin", programs, []string{"teleclaude", "telec"})
	gc, _ := g["contents"].([]any)
	for i := 0; i < len(rest) || i < len(gc); i++ {
		var a, b any
		if i < len(rest) {
			a = rest[i]
		}
		if i < len(gc) {
			b = gc[i]
		}
		same(fmt.Sprintf("contents entry %d", i), a, b)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
