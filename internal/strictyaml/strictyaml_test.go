package strictyaml

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestLimitsReportOnce: a bomb or a deep document is one problem at its
// first line, not one per alias or branch.
func TestLimitsReportOnce(t *testing.T) {
	bomb := "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
	_, probs := Parse("f.yml", []byte(bomb))
	if len(probs) != 1 || probs[0].String() != "f.yml:2: YAML aliases (*name) are not allowed in config files (6 in this file)" {
		t.Errorf("bomb: %v", probs)
	}
	deep := "a: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\nb: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n"
	_, probs = Parse("f.yml", []byte(deep))
	if len(probs) != 1 || probs[0].String() != "f.yml:1: nesting deeper than 32 levels" {
		t.Errorf("deep: %v", probs)
	}
}

func TestDecodeShapes(t *testing.T) {
	type inner struct {
		A string `yaml:"a"`
	}
	type outer struct {
		inner `yaml:",inline"`
		B     int       `yaml:"b"`
		Raw   yaml.Node `yaml:"raw"`
	}
	doc, probs := Parse("f.yml", []byte("a: x\nb: 2\nraw: {anything: [goes]}\nc: 3\n"))
	if probs != nil {
		t.Fatal(probs)
	}
	var v outer
	probs = doc.Decode(&v)
	if len(probs) != 1 || probs[0].String() != `f.yml:4: unknown key "c" in the top level (known: a, b, raw)` {
		t.Errorf("Decode = %v", probs)
	}
	if k, val := doc.Key("raw"); k == nil || k.Line != 3 || val.Kind != yaml.MappingNode {
		t.Errorf("Key(raw) = %v, %v", k, val)
	}
	if doc.Line("raw", "anything", 0) != 3 || doc.Line("nope") != 1 {
		t.Errorf("Line: %d %d", doc.Line("raw", "anything", 0), doc.Line("nope"))
	}
}
