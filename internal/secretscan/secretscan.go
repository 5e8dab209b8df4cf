// Package secretscan recognises what looks like a secret: key names such as
// api_key or bot_token, and values shaped like the API keys and tokens of
// well-known services. Files that must never hold secrets (users'
// preferences, the world-readable system config) are checked with it.
//
// Messages never repeat the value: a problem report ends up in terminals and
// logs, which is exactly where a leaked key must not go.
package secretscan

import (
	"fmt"
	"regexp"

	"github.com/instruktai/teleclaude/internal/strictyaml"
	"gopkg.in/yaml.v3"
)

// secretName matches the names the issue lists (ending in _key, _token,
// _secret, _password) and their bare and run-together forms.
var secretName = regexp.MustCompile(`(?i)(^|[_-])(key|apikey|token|secret|password|passwd)$`)

// Name reports whether a key or variable name says that its value is a
// secret.
func Name(name string) bool { return secretName.MatchString(name) }

// shapes are the published formats of common credentials. Unanchored: a key
// pasted into a longer string is still a key.
var shapes = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"an Anthropic API key", regexp.MustCompile(`\bsk-ant-[A-Za-z0-9_-]{20,}`)},
	{"an OpenAI-style API key", regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{20,}`)},
	{"a Google API key", regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}`)},
	{"a GitHub token", regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})`)},
	{"a GitLab token", regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}`)},
	{"a Slack token", regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}`)},
	{"an AWS access key", regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"a Telegram bot token", regexp.MustCompile(`\b[0-9]{8,10}:[A-Za-z0-9_-]{35}\b`)},
	{"a Hugging Face token", regexp.MustCompile(`\bhf_[A-Za-z0-9]{30,}`)},
	{"a Stripe key", regexp.MustCompile(`\b(sk|rk)_(live|test)_[A-Za-z0-9]{16,}`)},
	{"a JSON Web Token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
	{"a URL with a password", regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@`)},
}

// Value reports whether v is shaped like a known kind of credential, and
// which.
func Value(v string) (kind string, ok bool) {
	for _, s := range shapes {
		if s.re.MatchString(v) {
			return s.kind, true
		}
	}
	return "", false
}

// Scan walks n and reports every scalar value shaped like a credential and,
// with names, every mapping key named like one. where says where secrets
// belong instead, for the message. The tree must already have passed
// strictyaml.Parse (bounded depth, no aliases).
func Scan(file string, n *yaml.Node, names bool, where string) strictyaml.Problems {
	var probs strictyaml.Problems
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if names && Name(k.Value) {
					probs = append(probs, strictyaml.Problem{File: file, Line: k.Line,
						Msg: fmt.Sprintf("%q looks like the name of a secret; this file must not hold secrets (%s)", k.Value, where)})
					continue
				}
				walk(n.Content[i+1], k.Value)
			}
		case yaml.SequenceNode, yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, key)
			}
		case yaml.ScalarNode:
			if kind, ok := Value(n.Value); ok {
				what := "a value"
				if key != "" {
					what = "the value of " + key
				}
				probs = append(probs, strictyaml.Problem{File: file, Line: n.Line,
					Msg: fmt.Sprintf("%s looks like %s; this file must not hold secrets (%s)", what, kind, where)})
			}
		}
	}
	if n != nil {
		walk(n, "")
	}
	return probs
}
