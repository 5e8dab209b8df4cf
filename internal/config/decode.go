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
// returns the parsed document for locating lines, nil when it cannot be
// parsed at all; with problems in its shape it is decoded as far as it
// fits, so that the rest of its problems can be reported too.
func decodeStrict(file string, data []byte, v any, requireContent bool) (*strictyaml.Document, Problems) {
	doc, probs := strictyaml.Parse(file, data)
	if probs != nil {
		return nil, probs
	}
	if doc.Root == nil && requireContent {
		return nil, Problems{{File: file, Line: 1, Msg: "file is empty; it needs at least people, projects and agents"}}
	}
	return doc, doc.Decode(v)
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
