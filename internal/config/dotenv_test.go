package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDotenv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	write(t, path, "A=1\nexport B='x # y'\nC=\"a\\\"b\\nc\"\nD=plain # comment\n\n# c\nE=\nbad line\n9X=1\nA=2\nF=\"open\n", 0o600)
	d, probs := readDotenv(path)
	want := map[string]string{"A": "1", "B": "x # y", "C": "a\"b\nc", "D": "plain", "E": ""}
	if !reflect.DeepEqual(d.vars, want) {
		t.Errorf("vars = %q, want %q", d.vars, want)
	}
	got := probs.Error()
	for _, w := range []string{path + ":8: not NAME=VALUE", path + ":9: not NAME=VALUE", path + ":10: A is already set at line 1", path + ":11: F: unterminated double quote"} {
		if !strings.Contains(got, w) {
			t.Errorf("problems =\n%s\nwant %s", got, w)
		}
	}
}
