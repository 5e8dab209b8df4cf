package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds nesting: no valid config is deeper than a handful of levels,
// and a deep document is either a mistake or an attack on the parser.
const maxDepth = 32

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// decodeStrict parses data into v, reporting syntax errors, unknown keys and
// type mismatches with their line. requireContent makes an empty document a
// problem (the system config must say something).
func decodeStrict(file string, data []byte, v any, requireContent bool) Problems {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			if requireContent {
				return Problems{{File: file, Line: 1, Msg: "file is empty; it needs at least people, projects and agents"}}
			}
			return nil
		}
		return yamlProblems(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return Problems{{File: file, Line: extra.Line, Msg: "more than one YAML document; put everything in one"}}
	} else if !errors.Is(err, io.EOF) {
		return yamlProblems(file, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		if requireContent {
			return Problems{{File: file, Line: 1, Msg: "file is empty; it needs at least people, projects and agents"}}
		}
		return nil
	}
	var probs Problems
	checkShape(file, doc, reflect.TypeOf(v).Elem(), "", 0, &probs)
	if len(probs) > 0 {
		return probs
	}
	if err := doc.Decode(v); err != nil {
		return yamlProblems(file, err)
	}
	return nil
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
// and reports keys the type does not have, aliases, and excessive nesting.
// yaml.v3's own KnownFields check stops at the first unknown key and names Go
// types; this one reports every key with the keys that are allowed.
func checkShape(file string, n *yaml.Node, t reflect.Type, path string, depth int, probs *Problems) {
	if depth > maxDepth {
		*probs = append(*probs, Problem{File: file, Line: n.Line, Msg: fmt.Sprintf("nesting deeper than %d levels", maxDepth)})
		return
	}
	if n.Kind == yaml.AliasNode {
		// Aliases are how YAML bombs are built, and nothing in a config
		// needs them.
		*probs = append(*probs, Problem{File: file, Line: n.Line, Msg: "YAML aliases (*name) are not allowed in config files"})
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // decode reports the type mismatch with its line
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag != "" && tag != "-" {
				fields[tag] = t.Field(i).Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				*probs = append(*probs, Problem{File: file, Line: k.Line,
					Msg: fmt.Sprintf("unknown key %q in %s (known: %s)", k.Value, where(path), keys(fields))})
				continue
			}
			checkShape(file, val, ft, join(path, k.Value), depth+1, probs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkShape(file, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), depth+1, probs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkShape(file, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1, probs)
		}
	default:
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				checkShape(file, c, t, path, depth+1, probs)
			}
		}
	}
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

// locator finds the line of the node at a path such as "people", 2, "role"
// (strings index mappings, ints index sequences), so that semantic checks can
// point at the exact line. It answers 0 when the path is not in the document.
type locator struct{ root *yaml.Node }

func newLocator(data []byte) locator {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil || len(root.Content) == 0 {
		return locator{}
	}
	return locator{root.Content[0]}
}

func (l locator) line(path ...any) int {
	n := l.root
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
