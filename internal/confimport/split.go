package confimport

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/prefs"
	"github.com/instruktai/teleclaude/internal/secretscan"
	"github.com/instruktai/teleclaude/internal/strictyaml"
	"gopkg.in/yaml.v3"
)

// oneFile is a whole configuration in one file, as a single-user install
// kept it: the system config's keys, a `secrets:` section shaped like
// secrets.yml, a `preferences:` section, and agents' env maps that may hold
// keys. `teleclaude config split` turns it, with the .env the install ran
// with, into the three layers.
type oneFile struct {
	config.Config `yaml:",inline"`
	Secrets       config.Secrets `yaml:"secrets"`
}

// original is a one-file config as the old install ran it.
type original struct {
	doc   *strictyaml.Document
	env   *config.Dotenv
	cfg   *config.Config // effective: file, secrets section, .env, defaults
	prefs prefs.Preferences
}

// layoutVars steer where files live, not what they say; a split result is
// for the system layout, so they are not carried over.
var layoutVars = []string{layout.EnvSystemMode, layout.EnvConfigPath, layout.EnvSecrets, layout.EnvConfigDir,
	layout.EnvDataDir, layout.EnvLogDir, layout.EnvRunDir, layout.EnvSharedDir, layout.EnvSocket}

// settingsEnv is the .env as Load would see it, without the layout
// variables.
func settingsEnv(d *config.Dotenv) config.Getenv {
	return func(name string) string {
		if slices.Contains(layoutVars, name) {
			return ""
		}
		return d.Getenv(name)
	}
}

// loadOriginal reads from (and envFile, if not "") the way the old install
// did, and checks it with the defaults of p: split refuses what would not
// load.
func loadOriginal(from, envFile string, p layout.Paths) (*original, error) {
	data, err := strictyaml.ReadFile(from, false)
	if err != nil {
		return nil, config.Problems{{File: from, Msg: err.Error()}}
	}
	var of oneFile
	doc, probs := config.DecodeStrict(from, data, &of, true)
	if probs != nil {
		return nil, probs
	}
	o := &original{doc: doc, cfg: &of.Config}
	if envFile != "" {
		if o.env, probs = config.ReadDotenv(envFile); probs != nil {
			return nil, probs
		}
	}
	o.prefs, probs = prefs.FromDocument(doc, false)
	if probs == nil {
		probs = o.prefs.ApplyEnv(prefs.Getenv(settingsEnv(o.env)))
	}
	c := o.cfg
	c.File, c.Secrets = from, of.Secrets
	if err := c.ApplyEnv(settingsEnv(o.env)); err != nil {
		probs = append(probs, config.Problem{File: envFile, Msg: err.Error()})
	}
	c.ApplyDefaults(p, settingsEnv(o.env))
	probs = append(probs, c.Validate(from, doc)...)
	if len(probs) > 0 {
		return nil, probs
	}
	return o, nil
}

// SplitOptions says what to split and where the result goes.
type SplitOptions struct {
	From    string // the one-file config
	EnvFile string // its .env, or ""
	OutDir  string // created if missing; files in it are never overwritten
	// Paths is the system layout the result is for: its defaults check the
	// result, and its file names are where the files are to be installed.
	Paths layout.Paths
	// ServiceUser owns secrets.yml (ServiceUser:root 0600): the daemon's
	// account, and the only one besides root that may read the secrets.
	ServiceUser string
	// User owns user-config.yml; "" means the owner of From.
	User string
}

// SplitFile is one file written.
type SplitFile struct {
	Layer     string `json:"layer"`
	Path      string `json:"path"`
	Mode      string `json:"mode"`
	Owner     string `json:"owner"`
	InstallAs string `json:"install_as"`
}

// SplitResult says what split wrote and what it did with each part of the
// input. Notes name variables and keys, never secret values.
type SplitResult struct {
	Files []SplitFile `json:"files"`
	Notes []string    `json:"notes"`
}

// ErrExists is returned (wrapped) when an output file exists already.
var ErrExists = errors.New("refusing to overwrite")

// Split turns a one-file config into the three layers: the system config
// (everything else, comments kept), secrets.yml (the secrets section, the
// .env's keys for the agents, and every agent env entry named or shaped like
// a secret, which becomes a secrets_env entry), and user-config.yml (the
// preferences). Its inputs are only read. Before it returns, it loads what
// it wrote and checks that the effective config is the one the input gave.
func Split(o SplitOptions) (*SplitResult, error) {
	orig, err := loadOriginal(o.From, o.EnvFile, o.Paths)
	if err != nil {
		return nil, err
	}
	res := &SplitResult{}
	out := map[string]string{}
	for _, f := range [][2]string{{"system config", "config.yml"}, {"secrets", "secrets.yml"}, {"preferences", "user-config.yml"}} {
		out[f[0]] = filepath.Join(o.OutDir, f[1])
		if _, err := os.Lstat(out[f[0]]); err == nil {
			return nil, fmt.Errorf("%w %s; choose an empty --out directory", ErrExists, out[f[0]])
		}
	}

	secrets := orig.cfg.Secrets
	secrets.AgentEnv = maps.Clone(secrets.AgentEnv)
	moved, err := moveAgentSecrets(orig.doc, &res.Notes)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(moved) {
		prev, ok := secrets.AgentEnv[k]
		if ok && prev != moved[k] {
			return nil, fmt.Errorf("%s has one value in an agent's env and another in the secrets (or .env); secrets.yml keeps one value per variable: make them equal in %s first", k, o.From)
		}
		for name, a := range orig.cfg.Agents {
			if !ok && slices.Contains(a.SecretsEnv, k) {
				return nil, fmt.Errorf("agent %s names %s in secrets_env without a value, and another agent's env gives it one; in secrets.yml every agent naming it would get it: give it to agent %s too, or rename one, in %s first", name, k, name, o.From)
			}
		}
		if secrets.AgentEnv == nil {
			secrets.AgentEnv = map[string]string{}
		}
		secrets.AgentEnv[k] = moved[k]
	}
	carryEnv(orig, &res.Notes)
	deleteKey(orig.doc.Root, "secrets")
	deleteKey(orig.doc.Root, prefs.Section)
	// What still looks like a secret (a key in an agent's command line,
	// say) cannot be moved by rule: the admin must, before anything is
	// written.
	if probs := config.CheckSections(orig.doc, layout.System); probs != nil {
		return nil, probs
	}

	from := filepath.Base(o.From)
	cfgYAML, err := marshal(orig.doc.Root, fmt.Sprintf("TeleClaude system config, split from %s. Install as %s (root:%s 0644):\nevery user can read it, so it holds no secrets.", from, o.Paths.ConfigFile, rootGroup()))
	if err != nil {
		return nil, err
	}
	secYAML, err := marshal(secrets, fmt.Sprintf("TeleClaude secrets, split from %s. Install as %s (%s:%s 0600):\nonly root and the service user may read it.", from, o.Paths.SecretsFile, o.ServiceUser, rootGroup()))
	if err != nil {
		return nil, err
	}
	userYAML, err := marshal(prefs.UserFile{Preferences: orig.prefs}, fmt.Sprintf("Preferences, split from %s. Install as ~/.teleclaude/config.yml of their user.", from))
	if err != nil {
		return nil, err
	}

	owners, err := splitOwners(o, &res.Notes)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	// Written and checked in a private directory first, then linked into
	// place: the output holds the three files, checked, or nothing.
	tmp, err := os.MkdirTemp(o.OutDir, ".split-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	plan := []struct {
		layer, install string
		data           []byte
	}{
		{"system config", o.Paths.ConfigFile, cfgYAML},
		{"secrets", o.Paths.SecretsFile, secYAML},
		{"preferences", "~" + owners["preferences"].name + "/.teleclaude/config.yml", userYAML},
	}
	staged := map[string]string{}
	for _, f := range plan {
		staged[f.layer] = filepath.Join(tmp, filepath.Base(out[f.layer]))
		if err := writeNew(staged[f.layer], f.data, owners[f.layer]); err != nil {
			return nil, err
		}
	}
	roundTrip := o.Paths
	roundTrip.ServiceUser = o.ServiceUser
	if err := checkRoundTrip(orig, roundTrip, staged); err != nil {
		return nil, fmt.Errorf("the split of %s would not load to the same configuration (%v); nothing was written: please report this", o.From, err)
	}
	var linked []string
	for _, f := range plan {
		if err := os.Link(staged[f.layer], out[f.layer]); err != nil {
			for _, l := range linked {
				os.Remove(l)
			}
			if os.IsExist(err) {
				return nil, fmt.Errorf("%w %s", ErrExists, out[f.layer])
			}
			return nil, err
		}
		linked = append(linked, out[f.layer])
		own := owners[f.layer]
		res.Files = append(res.Files, SplitFile{Layer: f.layer, Path: out[f.layer], Mode: fmt.Sprintf("%04o", own.mode), Owner: own.name + ":" + own.group, InstallAs: f.install})
	}
	return res, nil
}

// moveAgentSecrets takes every agent env entry named or shaped like a secret
// out of the document, names it in the agent's secrets_env, and returns the
// values. Two agents giving one variable two values cannot be expressed in
// secrets.yml, which holds one value per variable: that is an error.
func moveAgentSecrets(doc *strictyaml.Document, notes *[]string) (map[string]string, error) {
	moved := map[string]string{}
	from := map[string]string{}
	_, agents := doc.Key("agents")
	if agents == nil || agents.Kind != yaml.MappingNode {
		return moved, nil
	}
	for i := 0; i+1 < len(agents.Content); i += 2 {
		name, agent := agents.Content[i].Value, agents.Content[i+1]
		env := mapValue(agent, "env")
		if env == nil {
			continue
		}
		for j := 0; j+1 < len(env.Content); {
			k, v := env.Content[j].Value, env.Content[j+1].Value
			_, shaped := secretscan.Value(v)
			if !secretscan.Name(k) && !shaped {
				j += 2
				continue
			}
			if prev, ok := moved[k]; ok && prev != v {
				return nil, fmt.Errorf("agents %s and %s set %s to different values; secrets.yml keeps one value per variable: make them equal first", from[k], name, k)
			}
			moved[k], from[k] = v, name
			env.Content = append(env.Content[:j], env.Content[j+2:]...)
			addSecretsEnv(agent, k)
			*notes = append(*notes, fmt.Sprintf("agents.%s.env.%s → secrets.yml agent_env (named in the agent's secrets_env)", name, k))
		}
		if len(env.Content) == 0 {
			deleteKey(agent, "env")
		}
	}
	return moved, nil
}

// carryEnv writes the .env's settings into the config document and says
// what became of every variable.
func carryEnv(o *original, notes *[]string) {
	if o.env == nil {
		return
	}
	settings := map[string]config.EnvSetting{}
	for _, s := range config.EnvSettings() {
		settings[s.Name] = s
	}
	secretsEnv := map[string]bool{}
	for _, a := range o.cfg.Agents {
		for _, k := range a.SecretsEnv {
			secretsEnv[k] = true
		}
	}
	for _, k := range sortedKeys(o.env.Vars()) {
		v, at := o.env.Vars()[k], o.env.Where(k)
		s, isSetting := settings[k]
		switch {
		case slices.Contains(layoutVars, k):
			*notes = append(*notes, fmt.Sprintf("%s (%s): not carried; it moves files, and the system layout applies", k, at))
		case isSetting:
			setPath(o.doc.Root, strings.Split(s.Path, "."), v, s.Number)
			*notes = append(*notes, fmt.Sprintf("%s (%s) → config.yml %s", k, at, s.Path))
		case k == config.EnvDBPassword:
			*notes = append(*notes, fmt.Sprintf("%s (%s) → secrets.yml database.password", k, at))
		case k == "TELECLAUDE_DB_DSN":
			*notes = append(*notes, fmt.Sprintf("%s (%s): not carried; write database: host, port, dbname and user in config.yml (a password goes to secrets.yml)", k, at))
		case slices.Contains(prefs.EnvVars(), k):
			*notes = append(*notes, fmt.Sprintf("%s (%s) → user-config.yml preferences", k, at))
		case secretsEnv[k]:
			*notes = append(*notes, fmt.Sprintf("%s (%s) → secrets.yml agent_env", k, at))
		default:
			*notes = append(*notes, fmt.Sprintf("%s (%s): not carried; no agent names it in secrets_env and it is no TeleClaude setting", k, at))
		}
	}
}

// mapValue is the value of key in mapping n, nil when absent.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func deleteKey(n *yaml.Node, key string) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}

func keyNode(k string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: k} }

// setPath sets the value at path in mapping n, in place when the key is
// there (its comments stay), making mappings on the way. A number is written
// plain, text quoted.
func setPath(n *yaml.Node, path []string, v string, number bool) {
	for i, key := range path {
		next := mapValue(n, key)
		if next == nil {
			next = &yaml.Node{}
			n.Content = append(n.Content, keyNode(key), next)
		}
		if i < len(path)-1 {
			if next.Kind != yaml.MappingNode {
				next.Kind, next.Tag, next.Value, next.Style, next.Content = yaml.MappingNode, "", "", 0, nil
			}
			n = next
			continue
		}
		next.Kind, next.Value, next.Content = yaml.ScalarNode, v, nil
		next.Tag, next.Style = "!!str", yaml.DoubleQuotedStyle
		if number {
			next.Tag, next.Style = "!!int", 0
		}
	}
}

// addSecretsEnv names variable k in agent's secrets_env, once.
func addSecretsEnv(agent *yaml.Node, k string) {
	seq := mapValue(agent, "secrets_env")
	if seq == nil {
		seq = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		agent.Content = append(agent.Content, keyNode("secrets_env"), seq)
	}
	for _, c := range seq.Content {
		if c.Value == k {
			return
		}
	}
	seq.Content = append(seq.Content, keyNode(k))
}

func marshal(v any, header string) ([]byte, error) {
	var b bytes.Buffer
	for _, line := range strings.Split(header, "\n") {
		b.WriteString("# " + line + "\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// owner is who gets a written file, and with which mode; uid -1 leaves the
// owner as it is (the caller's).
type owner struct {
	uid, gid    int
	name, group string
	mode        os.FileMode
}

// splitOwners decides owners and modes: as root, the system config is
// root:root 0644, secrets ServiceUser:root 0600, the preferences their
// user's 0644. Without root nothing can be given away: the files stay the
// caller's, secrets 0600, and a note says what to run as root; so does a
// service user that does not exist yet (secrets root:root 0600 until then).
func splitOwners(o SplitOptions, notes *[]string) (map[string]owner, error) {
	me := owner{uid: -1, gid: -1, name: osuser.UserName(os.Getuid()), group: osuser.GroupName(os.Getgid())}
	withMode := func(w owner, m os.FileMode) owner { w.mode = m; return w }
	if os.Geteuid() != 0 {
		*notes = append(*notes, fmt.Sprintf("not root: the files are yours; as root, run: chown root:%s config.yml && chown %s:%s secrets.yml && chmod 0600 secrets.yml",
			rootGroup(), o.ServiceUser, rootGroup()))
		return map[string]owner{"system config": withMode(me, 0o644), "secrets": withMode(me, 0o600), "preferences": withMode(me, 0o644)}, nil
	}
	root := owner{uid: 0, gid: 0, name: "root", group: rootGroup()}
	sec := withMode(root, 0o600)
	if u, err := osuser.Lookup(o.ServiceUser); err == nil && o.ServiceUser != "" {
		sec.uid = u.UID
		sec.name = o.ServiceUser
	} else {
		*notes = append(*notes, fmt.Sprintf("the service user %s does not exist (yet): secrets.yml is root:%s 0600, which the daemon cannot read; once it exists, run: chown %s:%s secrets.yml",
			o.ServiceUser, rootGroup(), o.ServiceUser, rootGroup()))
	}
	usr, err := prefsOwner(o)
	if err != nil {
		return nil, err
	}
	return map[string]owner{"system config": withMode(root, 0o644), "secrets": sec, "preferences": withMode(usr, 0o644)}, nil
}

func rootGroup() string { return layout.RootGroup(runtime.GOOS) }

// prefsOwner is --user, or else the owner of the one-file config: it was
// that user's file.
func prefsOwner(o SplitOptions) (owner, error) {
	var u osuser.User
	var err error
	if o.User != "" {
		u, err = osuser.Lookup(o.User)
	} else {
		st, serr := os.Stat(o.From)
		if serr != nil {
			return owner{}, serr
		}
		own, ok := fileown.Of(st)
		if !ok {
			return owner{}, fmt.Errorf("cannot tell who owns %s; pass --user", o.From)
		}
		u, err = osuser.LookupID(own.UID)
	}
	if err != nil {
		return owner{}, fmt.Errorf("owner of the preferences: %w (pass --user NAME)", err)
	}
	return owner{uid: u.UID, gid: u.GID, name: u.Name, group: osuser.GroupName(u.GID)}, nil
}

// writeNew creates path, writes data, and gives it its owner and mode; the
// mode is 0600 until then, so the content is never readable by more than it
// will be.
func writeNew(path string, data []byte, w owner) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	fail := func(err error) error { f.Close(); os.Remove(path); return err }
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if w.uid >= 0 {
		if err := f.Chown(w.uid, w.gid); err != nil {
			return fail(err)
		}
	}
	if err := f.Chmod(w.mode); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	return f.Close()
}

// effective is what a config means to the daemon, whatever file each part
// came from: each agent's session environment whether a value sat in its env
// or in the secrets, for one.
type effective struct {
	Computer   config.Computer
	People     []config.Person
	Projects   []config.Project
	Agents     map[string]effectiveAgent
	Database   config.Database
	Socket     config.Socket
	Sessions   config.Sessions
	Logging    config.Logging
	DBPassword string
	Adapters   map[string]map[string]string
	Prefs      prefs.Preferences
}

type effectiveAgent struct {
	Command []string
	Env     map[string]string
}

func effectiveOf(c *config.Config, p prefs.Preferences) effective {
	e := effective{Computer: c.Computer, People: c.People, Projects: c.Projects, Database: c.Database, Socket: c.Socket,
		Sessions: c.Sessions, Logging: c.Logging, DBPassword: c.Secrets.Database.Password, Adapters: c.Secrets.Adapters,
		Agents: map[string]effectiveAgent{}, Prefs: p}
	for name, a := range c.Agents {
		env := map[string]string{}
		for k, v := range a.Env {
			env[k] = v
		}
		for _, k := range a.SecretsEnv {
			if v, ok := c.Secrets.AgentEnv[k]; ok {
				env[k] = v
			}
		}
		e.Agents[name] = effectiveAgent{Command: a.Command, Env: env}
	}
	return e
}

// checkRoundTrip loads the written files as the daemon and telec will and
// compares the result with the original's.
func checkRoundTrip(orig *original, p layout.Paths, out map[string]string) error {
	p.ConfigFile, p.SecretsFile = out["system config"], out["secrets"]
	none := func(string) string { return "" }
	c, err := config.Load(p, none)
	if err != nil {
		return err
	}
	pr, err := prefs.Load(out["preferences"], true, none)
	if err != nil {
		return err
	}
	got, want := effectiveOf(c, pr), effectiveOf(orig.cfg, orig.prefs)
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			return fmt.Errorf("%s differs", gv.Type().Field(i).Name)
		}
	}
	return nil
}
