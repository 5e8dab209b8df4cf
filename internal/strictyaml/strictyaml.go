// Package strictyaml reads YAML configuration files strictly: one document,
// no aliases, bounded size and depth, no unknown keys, and every problem
// reported as file:line: message so that an admin can fix them all in one
// pass. The system config, the secrets file and users' preference files are
// all read through it.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a config file, located as precisely as the
// file allows.
type Problem struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"` // 0 when the problem is not tied to a line
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	switch {
	case p.File == "":
		return p.Msg
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	default:
		return p.File + ": " + p.Msg
	}
}

// Problems is every problem found in one load; it is the error loaders
// return.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// MaxFile bounds what we parse: a config larger than this is a mistake, and
// the bound keeps a hostile file from costing memory before it is rejected.
const MaxFile = 1 << 20

// MaxDepth bounds nesting: no valid config is deeper than a handful of
// levels, and a deep document is either a mistake or an attack on the parser.
const MaxDepth = 32

// ReadFile reads a regular file of at most MaxFile bytes. With noFollow, a
// symlink at path is an error (the check and the open are one step).
func ReadFile(path string, noFollow bool) ([]byte, error) {
	flags := os.O_RDONLY
	if noFollow {
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > MaxFile {
		return nil, fmt.Errorf("file is %d bytes, over the %d-byte limit", st.Size(), MaxFile)
	}
	buf := make([]byte, st.Size())
	_, err = io.ReadFull(f, buf)
	return buf, err
}

// Document is a parsed file. Root is the top-level node, nil when the file
// holds nothing (empty, or only comments).
type Document struct {
	File string
	Root *yaml.Node
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Parse reads exactly one YAML document and refuses aliases and nesting
// deeper than MaxDepth before anything is decoded.
func Parse(file string, data []byte) (*Document, Problems) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return &Document{File: file}, nil
		}
		return nil, yamlProblems(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Problems{{File: file, Line: extra.Line, Msg: "more than one YAML document; put everything in one"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlProblems(file, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return &Document{File: file}, nil
	}
	var w limits
	w.walk(doc, 0)
	var probs Problems
	if w.deep > 0 {
		probs = append(probs, Problem{File: file, Line: w.deep, Msg: fmt.Sprintf("nesting deeper than %d levels", MaxDepth)})
	}
	if w.aliases > 0 {
		msg := "YAML aliases (*name) are not allowed in config files"
		if w.aliases > 1 {
			msg += fmt.Sprintf(" (%d in this file)", w.aliases)
		}
		probs = append(probs, Problem{File: file, Line: w.aliasLine, Msg: msg})
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return &Document{File: file, Root: doc}, nil
}

// limits finds aliases (how YAML bombs are built, and nothing in a config
// needs them) and excessive nesting, remembering the first line of each.
type limits struct {
	aliases, aliasLine, deep int
}

func (w *limits) walk(n *yaml.Node, depth int) {
	if depth > MaxDepth {
		if w.deep == 0 {
			w.deep = n.Line
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if w.aliases++; w.aliasLine == 0 {
			w.aliasLine = n.Line
		}
		return
	}
	for _, c := range n.Content {
		w.walk(c, depth+1)
	}
}

// Decode checks the document against the Go type of v, reporting every key
// the type does not have (with the keys it does), and decodes into v what
// fits, reporting type mismatches with their line. An empty document leaves v as it
// is. A field of type yaml.Node takes its section as it is, unchecked: its
// owner checks it.
func (d *Document) Decode(v any) Problems {
	if d.Root == nil {
		return nil
	}
	var probs Problems
	checkShape(d.File, d.Root, reflect.TypeOf(v).Elem(), "", &probs)
	// Decoded even with unknown keys: yaml.v3 fills in what fits and
	// reports every mismatch, so the caller can go on and report the
	// rest of the file's problems in the same run.
	if err := d.Root.Decode(v); err != nil {
		probs = append(probs, yamlProblems(d.File, err)...)
	}
	return probs
}

func yamlProblems(file string, err error) Problems {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var probs Problems
	for _, m := range msgs {
		p := Problem{File: file, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			p.Line, _ = strconv.Atoi(sm[1])
			p.Msg = sm[2]
		}
		probs = append(probs, p)
	}
	return probs
}

// checkShape walks the document against the Go type it will be decoded into
// and reports keys the type does not have. yaml.v3's own KnownFields check
// stops at the first unknown key and names Go types; this one reports every
// key with the keys that are allowed.
func checkShape(file string, n *yaml.Node, t reflect.Type, path string, probs *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nodeType {
		return // a raw section: whoever owns it checks it
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // decode reports the type mismatch with its line
		}
		fields := Fields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				*probs = append(*probs, Problem{File: file, Line: k.Line,
					Msg: fmt.Sprintf("unknown key %q in %s (known: %s)", k.Value, where(path), keys(fields))})
				continue
			}
			checkShape(file, val, ft, join(path, k.Value), probs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkShape(file, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), probs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkShape(file, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
		}
	}
}

var nodeType = reflect.TypeOf(yaml.Node{})

// Fields maps the YAML keys of struct type t to their field types,
// including the fields of ",inline" structs.
func Fields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		switch {
		case len(tag) > 1 && tag[1] == "inline":
			for k, ft := range Fields(f.Type) {
				fields[k] = ft
			}
		case tag[0] != "" && tag[0] != "-":
			fields[tag[0]] = f.Type
		}
	}
	return fields
}

func where(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func keys(m map[string]reflect.Type) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// Key finds a top-level key and its value; nil, nil when absent.
func (d *Document) Key(name string) (key, value *yaml.Node) {
	if d.Root == nil || d.Root.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(d.Root.Content); i += 2 {
		if d.Root.Content[i].Value == name {
			return d.Root.Content[i], d.Root.Content[i+1]
		}
	}
	return nil, nil
}

// Line finds the line of the node at a path such as "people", 2, "role"
// (strings index mappings, ints index sequences), so that semantic checks can
// point at the exact line. Where the path leaves the document it answers the
// line of the deepest node found, and 0 for an empty document.
func (d *Document) Line(path ...any) int {
	n := d.Root
	if n == nil {
		return 0
	}
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n.Line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n.Line
			}
		case int:
			if n.Kind != yaml.SequenceNode || p >= len(n.Content) {
				return n.Line
			}
			n = n.Content[p]
		}
	}
	return n.Line
}
