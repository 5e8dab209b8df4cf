// Package prefs is the per-user layer of the configuration (docs/DESIGN.md, "Layers"): a
// short allow-list of preferences that each user keeps in their own
// ~/.teleclaude/config.yml, under a `preferences:` section.
//
// The daemon never reads users' home directories. telec reads the file,
// applies the TELECLAUDE_* variables over it, and sends the result with every
// request as one header (Header); the daemon checks it again against the
// same allow-list (FromHeader). A key outside the list, a key named like a
// secret, or a value shaped like one is rejected, with file:line: message
// when it comes from the file.
package prefs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/secretscan"
	"github.com/instruktai/teleclaude/internal/strictyaml"
	"gopkg.in/yaml.v3"
)

// Preferences is the whole allow-list. An empty field means "no preference":
// the daemon's defaults apply.
type Preferences struct {
	// DefaultAgent is the agent `telec sessions start` uses without --agent
	// (one of the system config's agents).
	DefaultAgent string `yaml:"default_agent,omitempty" json:"default_agent,omitempty"`
	// DefaultProject is the project used without --project.
	DefaultProject string `yaml:"default_project,omitempty" json:"default_project,omitempty"`
	// ThinkingMode asks agents that support it for more or less reasoning:
	// off, low, medium or high.
	ThinkingMode string `yaml:"thinking_mode,omitempty" json:"thinking_mode,omitempty"`
	// OutputFormat is telec's output without --json: text or json.
	OutputFormat string `yaml:"output_format,omitempty" json:"output_format,omitempty"`
	// Color is telec's use of colour: auto, always or never.
	Color string `yaml:"color,omitempty" json:"color,omitempty"`
}

// Section is the top-level key that holds the preferences.
const Section = "preferences"

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// key is one entry of the allow-list: its name in files and JSON, the
// variable that overrides it, where it lives, and what it accepts.
type key struct {
	name  string
	env   string
	field func(*Preferences) *string
	enum  []string // nil: a name (letters, digits, '.', '_', '-')
}

var keys = []key{
	{"default_agent", "TELECLAUDE_DEFAULT_AGENT", func(p *Preferences) *string { return &p.DefaultAgent }, nil},
	{"default_project", "TELECLAUDE_DEFAULT_PROJECT", func(p *Preferences) *string { return &p.DefaultProject }, nil},
	{"thinking_mode", "TELECLAUDE_THINKING_MODE", func(p *Preferences) *string { return &p.ThinkingMode }, []string{"off", "low", "medium", "high"}},
	{"output_format", "TELECLAUDE_OUTPUT_FORMAT", func(p *Preferences) *string { return &p.OutputFormat }, []string{"text", "json"}},
	{"color", "TELECLAUDE_COLOR", func(p *Preferences) *string { return &p.Color }, []string{"auto", "always", "never"}},
}

// Keys lists the allowed keys, for messages and docs.
func Keys() []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

// EnvVars lists the variables that override preferences.
func EnvVars() []string {
	out := []string{"NO_COLOR"}
	for _, k := range keys {
		out = append(out, k.env)
	}
	return out
}

// check says what is wrong with value v for k, "" when nothing. The value is
// never repeated when it looks like a secret.
func (k key) check(v string) string {
	if v == "" {
		return ""
	}
	if kind, ok := secretscan.Value(v); ok {
		return fmt.Sprintf("the value of %s looks like %s; preferences never hold secrets (agent keys belong to the admin's secrets file)", k.name, kind)
	}
	if k.enum == nil {
		if !safeName.MatchString(v) {
			return fmt.Sprintf("%s %q: use a name of letters, digits, '.', '_' or '-' (at most 64)", k.name, v)
		}
		return ""
	}
	for _, e := range k.enum {
		if v == e {
			return ""
		}
	}
	return fmt.Sprintf("%s %q: want %s", k.name, v, strings.Join(k.enum, ", "))
}

// UserFile is what a per-user file of system mode may hold.
type UserFile struct {
	Preferences Preferences `yaml:"preferences"`
}

const secretsHint = "preferences only; agent keys are the admin's, in the secrets file"

// FromDocument checks and decodes the preferences in doc. With whole, doc is
// a per-user file of system mode and may hold nothing but the preferences
// section; otherwise it is a single-user daemon's config, where only the
// section is ours. Secret-looking keys and values are reported instead of
// the unknown-key problem on the same line.
func FromDocument(doc *strictyaml.Document, whole bool) (Preferences, strictyaml.Problems) {
	var p Preferences
	scope := doc
	if !whole {
		k, v := doc.Key(Section)
		if k == nil {
			return p, nil
		}
		scope = &strictyaml.Document{File: doc.File, Root: &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, v}}}
	}
	if scope.Root == nil {
		return p, nil
	}
	probs := secretscan.Scan(doc.File, scope.Root, true, secretsHint)
	flagged := map[int]bool{}
	for _, pr := range probs {
		flagged[pr.Line] = true
	}
	var f UserFile
	for _, pr := range scope.Decode(&f) {
		if !flagged[pr.Line] {
			probs = append(probs, pr)
		}
	}
	if len(probs) > 0 {
		return p, probs
	}
	for _, k := range keys {
		if m := k.check(*k.field(&f.Preferences)); m != "" {
			probs = append(probs, strictyaml.Problem{File: doc.File, Line: scope.Line(Section, k.name), Msg: m})
		}
	}
	if len(probs) > 0 {
		return p, probs
	}
	return f.Preferences, nil
}

// Getenv reads environment variables; tests pass their own.
type Getenv func(string) string

// File says where telec finds the user's preferences: in single-user mode
// the daemon's own config file (its `preferences:` section), in system mode
// ~/.teleclaude/config.yml, which holds nothing else. home is the user's
// home directory; without one there is no file ("").
func File(p layout.Paths, home string) (path string, whole bool) {
	switch {
	case p.Mode == layout.SingleUser:
		return p.ConfigFile, false
	case home == "":
		return "", true
	}
	return filepath.Join(home, ".teleclaude", "config.yml"), true
}

// Load reads the preferences at path ("" or a missing file is no
// preferences) and
// applies the environment over them: TELECLAUDE_DEFAULT_AGENT,
// TELECLAUDE_DEFAULT_PROJECT, TELECLAUDE_THINKING_MODE,
// TELECLAUDE_OUTPUT_FORMAT, TELECLAUDE_COLOR, and NO_COLOR (any value means
// color: never) below TELECLAUDE_COLOR. Problems come back as
// strictyaml.Problems.
func Load(path string, whole bool, getenv Getenv) (Preferences, error) {
	var p Preferences
	data, err := strictyaml.ReadFile(path, false)
	switch {
	case path == "":
	case err == nil:
		doc, probs := strictyaml.Parse(path, data)
		if probs == nil {
			p, probs = FromDocument(doc, whole)
		}
		if probs != nil {
			return Preferences{}, probs
		}
	case os.IsNotExist(err):
	default:
		return Preferences{}, strictyaml.Problems{{File: path, Msg: err.Error()}}
	}
	if probs := p.ApplyEnv(getenv); probs != nil {
		return Preferences{}, probs
	}
	return p, nil
}

// ApplyEnv sets the preferences named by TELECLAUDE_* variables (and NO_COLOR)
// over p, each checked like the file's values.
func (p *Preferences) ApplyEnv(getenv Getenv) strictyaml.Problems {
	if getenv("NO_COLOR") != "" {
		p.Color = "never"
	}
	var probs strictyaml.Problems
	for _, k := range keys {
		v := getenv(k.env)
		if v == "" {
			continue
		}
		if m := k.check(v); m != "" {
			probs = append(probs, strictyaml.Problem{Msg: k.env + ": " + m})
			continue
		}
		*k.field(p) = v
	}
	return probs
}
