package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/instruktai/teleclaude/internal/strictyaml"
)

// dotenv is a .env file: the environment an old one-file install ran with.
type dotenv struct {
	file  string
	vars  map[string]string
	lines map[string]int
}

// readDotenv reads KEY=VALUE lines: blank lines and # comments are skipped,
// "export " is allowed before the name, single quotes keep a value as it is,
// double quotes understand \n, \t, \" and \\, and an unquoted value ends at
// " #". Every malformed line is a problem with its line.
func readDotenv(file string) (*dotenv, Problems) {
	data, err := strictyaml.ReadFile(file, false)
	if err != nil {
		return nil, Problems{{File: file, Msg: err.Error()}}
	}
	d := &dotenv{file: file, vars: map[string]string{}, lines: map[string]int{}}
	var probs Problems
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || !envName.MatchString(name) {
			probs = append(probs, Problem{File: file, Line: n, Msg: "not NAME=VALUE (a name is letters, digits and '_')"})
			continue
		}
		v, err := unquote(strings.TrimSpace(value))
		if err != nil {
			probs = append(probs, Problem{File: file, Line: n, Msg: name + ": " + err.Error()})
			continue
		}
		if prev, dup := d.lines[name]; dup {
			probs = append(probs, Problem{File: file, Line: n, Msg: fmt.Sprintf("%s is already set at line %d", name, prev)})
			continue
		}
		d.vars[name], d.lines[name] = v, n
	}
	return d, probs
}

func unquote(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, "'"):
		end := strings.Index(v[1:], "'")
		if end < 0 {
			return "", fmt.Errorf("unterminated single quote")
		}
		return v[1 : end+1], nil
	case strings.HasPrefix(v, `"`):
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			switch c := v[i]; {
			case c == '"':
				return b.String(), nil
			case c == '\\' && i+1 < len(v):
				i++
				switch v[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(v[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", fmt.Errorf("unterminated double quote")
	default:
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		return v, nil
	}
}

// getenv looks names up in the file; a nil dotenv is an empty environment.
func (d *dotenv) getenv(name string) string {
	if d == nil {
		return ""
	}
	return d.vars[name]
}

// where names the line that set name, for messages.
func (d *dotenv) where(name string) string {
	return d.file + ":" + strconv.Itoa(d.lines[name])
}
