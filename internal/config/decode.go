package config

import (
	"github.com/instruktai/teleclaude/internal/strictyaml"
)

// Problem and Problems are strictyaml's: every layer reports the same way.
type (
	Problem  = strictyaml.Problem
	Problems = strictyaml.Problems
)

// decodeStrict parses data into v (see strictyaml). requireContent makes an
// empty document a problem (the system config must say something). It
// returns the parsed document for locating lines, nil on problems.
func decodeStrict(file string, data []byte, v any, requireContent bool) (*strictyaml.Document, Problems) {
	doc, probs := strictyaml.Parse(file, data)
	if probs != nil {
		return nil, probs
	}
	if doc.Root == nil && requireContent {
		return nil, Problems{{File: file, Line: 1, Msg: "file is empty; it needs at least people, projects and agents"}}
	}
	if probs := doc.Decode(v); probs != nil {
		return nil, probs
	}
	return doc, nil
}

// locator points semantic checks at lines; with no document (no config
// file) every line is 0.
type locator struct{ doc *strictyaml.Document }

func (l locator) line(path ...any) int {
	if l.doc == nil {
		return 0
	}
	return l.doc.Line(path...)
}
