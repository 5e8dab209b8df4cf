// Package config loads the system configuration and its secrets (docs/DESIGN.md, "Secrets"),
// applies environment overrides and validates the result, reporting every
// problem as file:line: message.
package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/strictyaml"
	"gopkg.in/yaml.v3"
)

// Config is the daemon's effective configuration: file, secrets and
// environment merged, defaults filled in.
type Config struct {
	Computer Computer         `yaml:"computer"`
	People   []Person         `yaml:"people"`
	Projects []Project        `yaml:"projects"`
	Agents   map[string]Agent `yaml:"agents"`
	Database Database         `yaml:"database"`
	Socket   Socket           `yaml:"socket"`
	Sessions Sessions         `yaml:"sessions"`
	Docs     Docs             `yaml:"docs"`
	Logging  Logging          `yaml:"logging"`
	// Preferences is the user's own section, allowed only in single-user
	// mode, where this file is also the user's; telec reads it (package
	// prefs) and the daemon only checks it.
	Preferences yaml.Node `yaml:"preferences"`

	Secrets Secrets `yaml:"-"`
	// File is the config file that was read, "" when none existed.
	File string `yaml:"-"`
	// SecretsFile is the secrets file that was read, "" when none existed.
	SecretsFile string `yaml:"-"`
	// Warnings are problems that do not stop the daemon (secrets others may read).
	Warnings []string `yaml:"-"`
}

type Computer struct {
	Name string `yaml:"name"`
}

// Person is someone who may use this machine. Only the system config defines
// people; the role decides what they may do.
type Person struct {
	Name       string            `yaml:"name"`
	Role       string            `yaml:"role"`
	OSUsername string            `yaml:"os_username"`
	Email      string            `yaml:"email"`
	Chat       map[string]string `yaml:"chat"` // identities for future chat adapters
}

// Project is a directory sessions may run in.
type Project struct {
	Name string `yaml:"name"`
	Path string `yaml:"path"`
}

// Agent is a program a session can run.
type Agent struct {
	Command []string          `yaml:"command"`
	Env     map[string]string `yaml:"env"`
	// SecretsEnv names variables whose values come from the secrets file (or
	// the daemon's environment) into the session's environment.
	SecretsEnv []string `yaml:"secrets_env"`
	// Roles and People say who may start the agent: a person whose role is
	// in Roles, or who is named in People. With neither, an agent with
	// secrets is for members and admins, and any other for everyone who
	// may start sessions. Whoever starts an agent can read its keys from
	// inside the session: this is who gets them.
	Roles  []string `yaml:"roles"`
	People []string `yaml:"people"`
}

// MayStart reports whether person, with role, may start the agent.
func (a Agent) MayStart(person string, role identity.Role) bool {
	if len(a.Roles) == 0 && len(a.People) == 0 {
		return len(a.SecretsEnv) == 0 || role.AtLeast(identity.Member)
	}
	for _, r := range a.Roles {
		if rv, err := identity.ParseRole(r); err == nil && rv == role {
			return true
		}
	}
	for _, p := range a.People {
		if p == person {
			return true
		}
	}
	return false
}

// StartedBy describes who may start the agent, for refusals.
func (a Agent) StartedBy() string {
	if len(a.Roles) == 0 && len(a.People) == 0 {
		if len(a.SecretsEnv) == 0 {
			return "everyone who may start sessions"
		}
		return "members and admins (it has secrets; agents.NAME.roles or people widen it)"
	}
	var parts []string
	if len(a.Roles) > 0 {
		parts = append(parts, "roles "+strings.Join(a.Roles, ", "))
	}
	if len(a.People) > 0 {
		parts = append(parts, "people "+strings.Join(a.People, ", "))
	}
	return strings.Join(parts, " and ")
}

type Database struct {
	Engine  string `yaml:"engine" json:"engine"` // sqlite | postgresql
	Path    string `yaml:"path" json:"path,omitempty"`
	Host    string `yaml:"host" json:"host,omitempty"`
	Port    int    `yaml:"port" json:"port,omitempty"`
	DBName  string `yaml:"dbname" json:"dbname,omitempty"`
	User    string `yaml:"user" json:"user,omitempty"`
	SSLMode string `yaml:"sslmode" json:"sslmode,omitempty"`
}

type Socket struct {
	Path  string `yaml:"path"`
	Group string `yaml:"group"`
	Mode  string `yaml:"mode"`
}

type Sessions struct {
	MinUID       *int   `yaml:"min_uid"`
	DefaultAgent string `yaml:"default_agent"`
	// Host says how each user's tmux server is started: "systemd" (the
	// teleclaude-sessions@<uid> unit, over D-Bus), "direct" (the daemon
	// starts it, switching users when it may), or "auto" (systemd when
	// systemd runs and the unit is installed, else direct).
	Host string `yaml:"host"`
	// Tmux is the tmux program; default: "tmux" looked up in PATH.
	Tmux string `yaml:"tmux"`
	// MaxRunning is how many sessions one person may have running at once
	// (default 32): a shared machine's memory is everyone's.
	MaxRunning int `yaml:"max_running"`
	// TranscriptMaxBytes is how much text of one session's output its
	// transcript keeps (default 64 MiB); what comes after is counted, and
	// the transcript says how much went.
	TranscriptMaxBytes int64 `yaml:"transcript_max_bytes"`
	// PersonTranscriptMaxBytes is how much text all of one person's
	// transcripts keep together (default 1 GiB): past it their input is
	// refused and their sessions' output is not kept, which the
	// transcript says. -1: no limit.
	PersonTranscriptMaxBytes int64 `yaml:"person_transcript_max_bytes"`
}

// DefaultTranscriptMaxBytes is sessions.transcript_max_bytes unless set.
const DefaultTranscriptMaxBytes = 64 << 20

// Defaults of the per-person quotas: a machine of a hundred people who
// each fill theirs holds about 100 GiB of transcripts and 1 GiB of docs.
const (
	DefaultPersonTranscriptMaxBytes = 1 << 30
	DefaultDocsPersonMaxBytes       = 10 << 20
	DefaultDocsPersonMaxCount       = 200
)

// Docs bounds the shared docs one person may write (the last writer of a
// doc is the one it counts against). -1: no limit.
type Docs struct {
	PersonMaxBytes int64 `yaml:"person_max_bytes"`
	PersonMaxCount int   `yaml:"person_max_count"`
}

// Session host kinds (sessions.host).
const (
	HostAuto    = "auto"
	HostSystemd = "systemd"
	HostDirect  = "direct"
)

type Logging struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"` // text | json
}

// Secrets is the root-only layer: never world-readable, never logged.
type Secrets struct {
	Database struct {
		Password string `yaml:"password,omitempty"`
	} `yaml:"database,omitempty"`
	AgentEnv map[string]string            `yaml:"agent_env,omitempty"`
	Adapters map[string]map[string]string `yaml:"adapters,omitempty"`
}

// Getenv reads environment variables; tests pass their own.
type Getenv func(string) string

// Load reads the config and secrets named by p, applies the environment and
// validates. A missing config file is fine in single-user mode and an error in
// system mode. Problems come back as a Problems error.
func Load(p layout.Paths, getenv Getenv) (*Config, error) {
	c := &Config{}
	var doc *strictyaml.Document
	var probs Problems
	data, err := strictyaml.ReadFile(p.ConfigFile, false)
	switch {
	case err == nil:
		c.File = p.ConfigFile
		doc, probs = decodeStrict(p.ConfigFile, data, c, p.Mode == layout.System)
		if doc == nil {
			// Not YAML that can be read: nothing more of it to check,
			// but the secrets are a file of their own.
			return nil, append(probs, loadSecrets(p, c)...)
		}
		probs = append(probs, checkSections(doc, p.Mode)...)
	case os.IsNotExist(err) && p.Mode == layout.SingleUser:
	case os.IsNotExist(err):
		return nil, Problems{{File: p.ConfigFile, Msg: "system config not found; create it (the package ships an example) or set " + layout.EnvConfigPath}}
	default:
		return nil, Problems{{File: p.ConfigFile, Msg: err.Error()}}
	}
	// Every problem of every layer in one run: a structural problem
	// above does not hide the values' problems below.
	probs = append(probs, loadSecrets(p, c)...)

	if err := c.applyEnv(getenv); err != nil {
		probs = append(probs, Problem{Msg: err.Error()})
	}
	c.applyDefaults(p, getenv)
	probs = append(probs, c.validate(p.ConfigFile, doc)...)
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

// envSetting is a TELECLAUDE_* variable that overrides one setting of the
// config file; path is that setting's place in the file.
type envSetting struct {
	name, path string
	number     bool
	set        func(v string) error
}

// envSettings lists the overrides of the config file's settings, bound to c.
func (c *Config) envSettings() []envSetting {
	str := func(name, path string, dst *string) envSetting {
		return envSetting{name, path, false, func(v string) error { *dst = v; return nil }}
	}
	num := func(name, path string, dst func(int)) envSetting {
		return envSetting{name, path, true, func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s=%q: not a number", name, v)
			}
			dst(n)
			return nil
		}}
	}
	return []envSetting{
		str("TELECLAUDE_COMPUTER_NAME", "computer.name", &c.Computer.Name),
		str("TELECLAUDE_DB_ENGINE", "database.engine", &c.Database.Engine),
		str("TELECLAUDE_DB_PATH", "database.path", &c.Database.Path),
		str("TELECLAUDE_DB_HOST", "database.host", &c.Database.Host),
		num("TELECLAUDE_DB_PORT", "database.port", func(n int) { c.Database.Port = n }),
		str("TELECLAUDE_DB_NAME", "database.dbname", &c.Database.DBName),
		str("TELECLAUDE_DB_USER", "database.user", &c.Database.User),
		str("TELECLAUDE_DB_SSLMODE", "database.sslmode", &c.Database.SSLMode),
		str("TELECLAUDE_SOCKET_GROUP", "socket.group", &c.Socket.Group),
		str("TELECLAUDE_SOCKET_MODE", "socket.mode", &c.Socket.Mode),
		num("TELECLAUDE_MIN_UID", "sessions.min_uid", func(n int) { c.Sessions.MinUID = &n }),
		str("TELECLAUDE_LOG_LEVEL", "logging.level", &c.Logging.Level),
		str("TELECLAUDE_LOG_FORMAT", "logging.format", &c.Logging.Format),
	}
}

// envDBPassword overrides the secrets file's database password;
// envDBPasswordFile names a file holding it (Docker's secrets, a
// credentials directory), the variable winning over the file.
const (
	envDBPassword     = "TELECLAUDE_DB_PASSWORD"
	envDBPasswordFile = "TELECLAUDE_DB_PASSWORD_FILE"
)

// applyEnv lets TELECLAUDE_* variables and the agents' own key variables
// override the files: environment wins, as for every 12-factor service.
func (c *Config) applyEnv(getenv Getenv) error {
	for _, e := range c.envSettings() {
		if v := getenv(e.name); v != "" {
			if err := e.set(v); err != nil {
				return err
			}
		}
	}
	if f := getenv(envDBPasswordFile); f != "" {
		b, err := strictyaml.ReadFile(f, false)
		if err != nil {
			return fmt.Errorf("%s=%s: %v", envDBPasswordFile, f, err)
		}
		c.Secrets.Database.Password = strings.TrimRight(string(b), "\r\n")
	}
	if v := getenv(envDBPassword); v != "" {
		c.Secrets.Database.Password = v
	}
	for _, a := range c.Agents {
		for _, k := range a.SecretsEnv {
			if v := getenv(k); v != "" {
				if c.Secrets.AgentEnv == nil {
					c.Secrets.AgentEnv = map[string]string{}
				}
				c.Secrets.AgentEnv[k] = v
			}
		}
	}
	return nil
}

func (c *Config) applyDefaults(p layout.Paths, getenv Getenv) {
	if c.Computer.Name == "" {
		c.Computer.Name, _ = os.Hostname()
	}
	if c.Database.Engine == "" {
		c.Database.Engine = "sqlite"
	}
	if c.Database.Engine == "sqlite" && c.Database.Path == "" {
		c.Database.Path = filepath.Join(p.DataDir, "teleclaude.db")
	}
	if c.Database.Engine == "postgresql" {
		if c.Database.Host == "" {
			c.Database.Host = "/var/run/postgresql"
		}
		if c.Database.Port == 0 {
			c.Database.Port = 5432
		}
		if c.Database.DBName == "" {
			c.Database.DBName = "teleclaude"
		}
		if c.Database.User == "" {
			c.Database.User = layout.ServiceUser(runtime.GOOS)
		}
	}
	// Precedence: TELECLAUDE_SOCKET, then TELECLAUDE_RUN_DIR (both already
	// folded into p.Socket by layout), then the file's socket.path, then the
	// mode's default.
	if c.Socket.Path == "" || getenv(layout.EnvSocket) != "" || getenv(layout.EnvRunDir) != "" {
		c.Socket.Path = p.Socket
	}
	if c.Socket.Mode == "" {
		if p.Mode == layout.System {
			c.Socket.Mode = "0660"
		} else {
			c.Socket.Mode = "0600"
		}
	}
	if c.Socket.Group == "" && p.Mode == layout.System {
		c.Socket.Group = layout.ServiceUser(runtime.GOOS)
	}
	if c.Sessions.MinUID == nil {
		n := 1000
		c.Sessions.MinUID = &n
	}
	if len(c.Projects) == 0 && p.Mode == layout.SingleUser {
		// One person's own daemon: their home is where they work unless
		// they configure projects.
		if home := getenv("HOME"); filepath.IsAbs(home) {
			c.Projects = []Project{{Name: "home", Path: home}}
		}
	}
	if len(c.Agents) == 0 && p.Mode == layout.SingleUser {
		shell := os.Getenv("SHELL")
		if shell == "" {
			shell = "/bin/sh"
		}
		c.Agents = map[string]Agent{"shell": {Command: []string{shell}}}
	}
	if c.Sessions.Host == "" {
		c.Sessions.Host = HostAuto
	}
	if c.Sessions.Tmux == "" {
		c.Sessions.Tmux = "tmux"
	}
	if c.Sessions.MaxRunning == 0 {
		c.Sessions.MaxRunning = 32
	}
	if c.Sessions.TranscriptMaxBytes == 0 {
		c.Sessions.TranscriptMaxBytes = DefaultTranscriptMaxBytes
	}
	if c.Sessions.PersonTranscriptMaxBytes == 0 {
		c.Sessions.PersonTranscriptMaxBytes = DefaultPersonTranscriptMaxBytes
	}
	if c.Docs.PersonMaxBytes == 0 {
		c.Docs.PersonMaxBytes = DefaultDocsPersonMaxBytes
	}
	if c.Docs.PersonMaxCount == 0 {
		c.Docs.PersonMaxCount = DefaultDocsPersonMaxCount
	}
	if c.Sessions.DefaultAgent == "" {
		if _, ok := c.Agents["shell"]; ok {
			c.Sessions.DefaultAgent = "shell"
		}
	}
	if c.Logging.Level == "" {
		c.Logging.Level = "info"
	}
	if c.Logging.Format == "" {
		c.Logging.Format = "text"
	}
}

// SocketMode parses socket.mode; validate has already checked it.
func (c *Config) SocketMode() os.FileMode {
	m, _ := strconv.ParseUint(c.Socket.Mode, 8, 32)
	return os.FileMode(m)
}

// MinUID is the lowest uid that may own a session.
func (c *Config) MinUID() int { return *c.Sessions.MinUID }

// PersonByOSUser finds the person mapped to an OS account name.
func (c *Config) PersonByOSUser(name string) (Person, bool) {
	for _, p := range c.People {
		if p.OSUsername != "" && p.OSUsername == name {
			return p, true
		}
	}
	return Person{}, false
}

// Role is the person's role; validate guarantees it parses.
func (p Person) RoleValue() identity.Role {
	r, _ := identity.ParseRole(p.Role)
	return r
}

// DatabaseDSN is the PostgreSQL connection URL, password from secrets.
// TELECLAUDE_DB_DSN, when set, is used as it is.
func (c *Config) DatabaseDSN(getenv Getenv) string {
	if v := getenv("TELECLAUDE_DB_DSN"); v != "" {
		return v
	}
	d := c.Database
	u := url.URL{Scheme: "postgres", Path: "/" + d.DBName}
	if c.Secrets.Database.Password != "" {
		u.User = url.UserPassword(d.User, c.Secrets.Database.Password)
	} else {
		u.User = url.User(d.User)
	}
	q := url.Values{}
	if strings.HasPrefix(d.Host, "/") {
		// A socket directory cannot sit in the URL's host part.
		q.Set("host", d.Host)
	} else {
		u.Host = d.Host
	}
	q.Set("port", strconv.Itoa(d.Port))
	if d.SSLMode != "" {
		q.Set("sslmode", d.SSLMode)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Quotas are the per-person limits of the config, as the store takes
// them (0: no limit).
func (c *Config) Quotas() (transcriptBytes, docBytes int64, docCount int) {
	unl := func(n int64) int64 { return max(n, 0) }
	return unl(c.Sessions.PersonTranscriptMaxBytes), unl(c.Docs.PersonMaxBytes), int(unl(int64(c.Docs.PersonMaxCount)))
}
