// Package confimport turns the configuration of another install into this
// program's three layers (system config, secrets, preferences): a
// single-user one-file config with its .env (Split), or the upstream
// Python TeleClaude's checkout with config.yml, .env,
// ~/.teleclaude/teleclaude.yml people and per-person files (Find, Write).
// It only reads its inputs and writes new files only; package config keeps
// loading and validation, whose steps it reuses.
package confimport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/instruktai/teleclaude/internal/config"
)

// Options says where the upstream install is.
type Options struct {
	Dir  string // the upstream checkout: config.yml, .env, teleclaude.db
	Home string // the home that holds .teleclaude/
	// LookupUser finds an OS account by name; it reports whether it
	// exists, and its uid.
	LookupUser func(name string) (uid int, ok bool)
	// ConfigOnly reads the config without a database (config split):
	// Config and Env then name the files, Dir is unused.
	ConfigOnly  bool
	Config, Env string
}

// Plan is everything found in an upstream install, and what becomes of it.
// It holds no secret value except in secrets, which is never printed.
type Plan struct {
	Dir        string   `json:"dir"`
	Config     string   `json:"config"`
	Env        string   `json:"env,omitempty"`
	Database   string   `json:"database"`
	PeopleFile string   `json:"people_file,omitempty"`
	PersonDirs []string `json:"person_files,omitempty"`
	Docs       string   `json:"docs,omitempty"`

	Computer     string           `json:"computer"`
	Projects     []config.Project `json:"projects"`
	Agents       []string         `json:"agents"`
	DefaultAgent string           `json:"default_agent,omitempty"`
	People       []Person         `json:"people"`
	SecretNames  []string         `json:"secrets"` // names only
	NotCarried   []Item           `json:"not_carried"`

	secrets    config.Secrets
	notCarried []notCarried
}

// Person is one of upstream's people and the OS user they map to here.
type Person struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Username string `json:"username,omitempty"`
	Role     string `json:"role"`
	UID      int    `json:"uid"`
	Mapped   bool   `json:"mapped"` // Username names an account here
	Why      string `json:"why,omitempty"`
}

// Item is a part of the input with no counterpart here, by file:line.
type Item struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Key  string `json:"key"`
}

func (i Item) String() string { return fmt.Sprintf("%s:%d %s", i.File, i.Line, i.Key) }

type notCarried struct {
	item Item
	node *yaml.Node
}

// Problem is a defect of the input, at file:line.
type Problem struct {
	File string
	Line int
	Msg  string
}

// Problems is every defect found.
type Problems []Problem

func (ps Problems) Error() string {
	var b []string
	for _, p := range ps {
		if p.Line > 0 {
			b = append(b, fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg))
		} else {
			b = append(b, fmt.Sprintf("%s: %s", p.File, p.Msg))
		}
	}
	return strings.Join(b, "\n")
}

// carried are upstream's config.yml sections that become ours; every
// other top-level key goes to not-carried.yml.
var carried = map[string]bool{"computer": true, "agents": true}

// secretName says which .env variables hold secrets: they go to
// secrets.yml, never printed.
var secretName = regexp.MustCompile(`(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)`)

// Find reads the install and plans the import. It writes nothing.
func Find(o Options) (*Plan, error) {
	if o.ConfigOnly {
		return findConfig(o)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	p := &Plan{Dir: dir, Config: filepath.Join(dir, "config.yml"), Database: filepath.Join(dir, "teleclaude.db")}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--from-install %s: not a directory (want an upstream TeleClaude checkout)", o.Dir)
	}
	if _, err := os.Stat(p.Config); err != nil {
		return nil, fmt.Errorf("--from-install %s: no config.yml there (%v): is it an upstream TeleClaude checkout?", dir, err)
	}
	if _, err := os.Stat(p.Database); err != nil {
		return nil, fmt.Errorf("--from-install %s: no teleclaude.db there (%v): the upstream daemon keeps its database in its checkout", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".env")); err == nil {
		p.Env = filepath.Join(dir, ".env")
	}
	if err := p.read(o); err != nil {
		return nil, err
	}
	if st, err := os.Stat(filepath.Join(dir, "docs")); err == nil && st.IsDir() {
		p.Docs = filepath.Join(dir, "docs")
	}
	for _, nc := range p.notCarried {
		p.NotCarried = append(p.NotCarried, nc.item)
	}
	return p, nil
}

func findConfig(o Options) (*Plan, error) {
	cfg, err := filepath.Abs(o.Config)
	if err != nil {
		return nil, err
	}
	p := &Plan{Dir: filepath.Dir(cfg), Config: cfg}
	if o.Env != "" {
		if p.Env, err = filepath.Abs(o.Env); err != nil {
			return nil, err
		}
	}
	if err := p.read(o); err != nil {
		return nil, err
	}
	for _, nc := range p.notCarried {
		p.NotCarried = append(p.NotCarried, nc.item)
	}
	return p, nil
}

// IsUpstream reports whether a config file is in upstream's format: it
// has sections or keys that only upstream's config.yml has.
func IsUpstream(file string) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	var doc struct {
		Computer map[string]any `yaml:"computer"`
		Agents   map[string]any `yaml:"agents"`
		Rest     map[string]any `yaml:",inline"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return false
	}
	for _, k := range []string{"telegram", "discord", "whatsapp", "redis", "stt", "tts"} {
		if _, ok := doc.Rest[k]; ok {
			return true
		}
	}
	for _, k := range []string{"trusted_dirs", "default_working_dir", "is_master", "bot_username"} {
		if _, ok := doc.Computer[k]; ok {
			return true
		}
	}
	for _, a := range doc.Agents {
		if m, ok := a.(map[string]any); ok {
			if _, ok := m["enabled"]; ok {
				return true
			}
		}
	}
	return false
}

// read reads the config, its .env and the people of o.Home.
func (p *Plan) read(o Options) error {
	env := map[string]string{"HOME": o.Home}
	if p.Env != "" {
		d, probs := config.ReadDotenv(p.Env)
		if probs != nil {
			return probs
		}
		vars, lines := d.Vars(), map[string]int{}
		for k := range vars {
			lines[k] = d.Line(k)
		}
		for k, v := range vars {
			if strings.HasPrefix(v, "~/") {
				v = filepath.Join(o.Home, v[2:])
			}
			env[k] = v
		}
		p.secrets.AgentEnv = map[string]string{}
		for _, k := range sortedKeys(vars) {
			if !secretName.MatchString(k) {
				p.notCarried = append(p.notCarried, notCarried{item: Item{File: p.Env, Line: lines[k], Key: k}, node: scalar(vars[k])})
				continue
			}
			p.SecretNames = append(p.SecretNames, k)
			if ad, _, ok := strings.Cut(k, "_"); ok && adapterPrefixes[ad] {
				if p.secrets.Adapters == nil {
					p.secrets.Adapters = map[string]map[string]string{}
				}
				a := strings.ToLower(ad)
				if p.secrets.Adapters[a] == nil {
					p.secrets.Adapters[a] = map[string]string{}
				}
				p.secrets.Adapters[a][k] = vars[k]
				continue
			}
			p.secrets.AgentEnv[k] = vars[k]
		}
	}
	if err := p.readConfig(env); err != nil {
		return err
	}
	return p.readPeople(o)
}

// adapterPrefixes are upstream's chat adapters: their secrets are kept
// under secrets.yml's adapters for when this program has them.
var adapterPrefixes = map[string]bool{"TELEGRAM": true, "DISCORD": true, "WHATSAPP": true, "REDIS": true}

var interp = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func (p *Plan) readConfig(env map[string]string) error {
	data, err := os.ReadFile(p.Config)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Problems{{File: p.Config, Msg: "not YAML upstream could read: " + err.Error()}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return Problems{{File: p.Config, Msg: "not a mapping of sections (computer:, agents:, ...)"}}
	}
	root := doc.Content[0]
	var probs Problems
	expand := func(n *yaml.Node) string {
		return interp.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := m[2 : len(m)-1]
			if v, ok := env[name]; ok {
				return v
			}
			probs = append(probs, Problem{File: p.Config, Line: n.Line, Msg: "${" + name + "} is set neither in .env nor here"})
			return m
		})
	}
	var computer, agents *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "computer":
			computer = v
		case "agents":
			agents = v
		}
		if !carried[k.Value] {
			p.notCarried = append(p.notCarried, notCarried{item: Item{File: p.Config, Line: k.Line, Key: k.Value}, node: v})
		}
	}
	if computer == nil || computer.Kind != yaml.MappingNode {
		return Problems{{File: p.Config, Msg: "no computer: section (upstream requires computer.name)"}}
	}
	seenProject := map[string]bool{}
	addProject := func(name, path string, line int) {
		name = projectName(name)
		if !filepath.IsAbs(path) {
			probs = append(probs, Problem{File: p.Config, Line: line, Msg: fmt.Sprintf("path %q is not absolute", path)})
			return
		}
		if seenProject[name] {
			name = projectName(filepath.Base(filepath.Dir(path)) + "-" + name)
		}
		seenProject[name] = true
		p.Projects = append(p.Projects, config.Project{Name: name, Path: filepath.Clean(path)})
	}
	for i := 0; i+1 < len(computer.Content); i += 2 {
		k, v := computer.Content[i], computer.Content[i+1]
		switch k.Value {
		case "name":
			p.Computer = expand(v)
		case "default_working_dir":
			d := expand(v)
			addProject(filepath.Base(d), d, v.Line)
		case "trusted_dirs":
			for _, td := range v.Content {
				var t struct{ Name, Desc, Path string }
				if err := td.Decode(&t); err != nil || t.Path == "" {
					probs = append(probs, Problem{File: p.Config, Line: td.Line, Msg: "a trusted_dirs entry needs name and path"})
					continue
				}
				path := interp.ReplaceAllStringFunc(t.Path, func(m string) string { return env[m[2:len(m)-1]] })
				addProject(t.Name, path, td.Line)
				for j := 0; j+1 < len(td.Content); j += 2 {
					if k := td.Content[j]; k.Value != "name" && k.Value != "path" {
						p.notCarried = append(p.notCarried, notCarried{item: Item{File: p.Config, Line: k.Line, Key: fmt.Sprintf("computer.trusted_dirs[%d].%s", len(p.Projects)-2, k.Value)}, node: td.Content[j+1]})
					}
				}
			}
		default:
			p.notCarried = append(p.notCarried, notCarried{item: Item{File: p.Config, Line: k.Line, Key: "computer." + k.Value}, node: v})
		}
	}
	if p.Computer == "" {
		probs = append(probs, Problem{File: p.Config, Line: computer.Line, Msg: "computer.name is required (upstream requires it too)"})
	}
	if agents != nil {
		for i := 0; i+1 < len(agents.Content); i += 2 {
			k, v := agents.Content[i], agents.Content[i+1]
			if k.Value == "default" {
				p.DefaultAgent = v.Value
				continue
			}
			enabled := true
			for j := 0; j+1 < len(v.Content); j += 2 {
				ak, av := v.Content[j], v.Content[j+1]
				if ak.Value == "enabled" {
					b, err := strconv.ParseBool(av.Value)
					if err != nil {
						probs = append(probs, Problem{File: p.Config, Line: av.Line, Msg: fmt.Sprintf("agents.%s.enabled: %q is not true or false", k.Value, av.Value)})
					}
					enabled = b
					continue
				}
				p.notCarried = append(p.notCarried, notCarried{item: Item{File: p.Config, Line: ak.Line, Key: "agents." + k.Value + "." + ak.Value}, node: av})
			}
			if enabled {
				p.Agents = append(p.Agents, k.Value)
			}
		}
	}
	if p.DefaultAgent != "" && !contains(p.Agents, p.DefaultAgent) {
		probs = append(probs, Problem{File: p.Config, Msg: fmt.Sprintf("agents.default is %q, which is not an enabled agent", p.DefaultAgent)})
	}
	if probs != nil {
		return probs
	}
	return nil
}

func (p *Plan) readPeople(o Options) error {
	f := filepath.Join(o.Home, ".teleclaude", "teleclaude.yml")
	data, err := os.ReadFile(f)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	p.PeopleFile = f
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Problems{{File: f, Msg: "not YAML: " + err.Error()}}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	var probs Problems
	byUser := map[string]string{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "people" {
			p.notCarried = append(p.notCarried, notCarried{item: Item{File: f, Line: k.Line, Key: k.Value}, node: v})
			continue
		}
		for pi, pn := range v.Content {
			for j := 0; j+1 < len(pn.Content); j += 2 {
				if k := pn.Content[j]; !contains([]string{"name", "email", "username", "role"}, k.Value) {
					p.notCarried = append(p.notCarried, notCarried{item: Item{File: f, Line: k.Line, Key: fmt.Sprintf("people[%d].%s", pi, k.Value)}, node: pn.Content[j+1]})
				}
			}
			var e struct {
				Name, Email, Username, Role string
			}
			if err := pn.Decode(&e); err != nil || e.Name == "" || e.Email == "" {
				probs = append(probs, Problem{File: f, Line: pn.Line, Msg: "a person needs name and email (as upstream requires)"})
				continue
			}
			if e.Role == "" {
				e.Role = "member"
			}
			if !contains([]string{"admin", "member", "contributor", "newcomer"}, e.Role) {
				probs = append(probs, Problem{File: f, Line: pn.Line, Msg: fmt.Sprintf("%s: role %q is not admin, member, contributor or newcomer", e.Name, e.Role)})
				continue
			}
			per := Person{Name: e.Name, Email: e.Email, Username: e.Username, Role: e.Role}
			switch uid, ok := lookup(o, e.Username); {
			case e.Username == "":
				per.Why = "no username: map this person to an OS user by hand (os_username)"
			case !ok:
				per.Why = fmt.Sprintf("username %q is no account on this machine: map this person by hand (os_username)", e.Username)
			default:
				if prev, dup := byUser[e.Username]; dup {
					probs = append(probs, Problem{File: f, Line: pn.Line, Msg: fmt.Sprintf("%s and %s both name OS user %s: one account is one person here", prev, e.Name, e.Username)})
					continue
				}
				byUser[e.Username] = e.Name
				per.UID, per.Mapped = uid, true
			}
			p.People = append(p.People, per)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(o.Home, ".teleclaude", "people", "*", "teleclaude.yml"))
	sort.Strings(dirs)
	for _, pf := range dirs {
		p.PersonDirs = append(p.PersonDirs, pf)
		data, err := os.ReadFile(pf)
		if err != nil {
			return err
		}
		var d yaml.Node
		if err := yaml.Unmarshal(data, &d); err != nil {
			probs = append(probs, Problem{File: pf, Msg: "not YAML: " + err.Error()})
			continue
		}
		if len(d.Content) == 0 {
			continue
		}
		r := d.Content[0]
		for i := 0; i+1 < len(r.Content); i += 2 {
			p.notCarried = append(p.notCarried, notCarried{item: Item{File: pf, Line: r.Content[i].Line, Key: r.Content[i].Value}, node: r.Content[i+1]})
		}
	}
	if probs != nil {
		return probs
	}
	return nil
}

func lookup(o Options, name string) (int, bool) {
	if name == "" || o.LookupUser == nil {
		return 0, false
	}
	return o.LookupUser(name)
}

var nameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func projectName(s string) string {
	s = strings.Trim(nameChars.ReplaceAllString(s, "-"), "-")
	if s == "" {
		s = "project"
	}
	return s
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
