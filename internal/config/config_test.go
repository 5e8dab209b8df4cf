package config

import (
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/testenv"
)

const good = `computer: {name: devbox}
people:
  - {name: alice, role: admin, os_username: alice, email: alice@example.org}
  - {name: bob, role: member, os_username: bob}
projects:
  - {name: demo, path: /srv/projects/demo}
agents:
  shell: {command: ["/bin/sh"]}
  claude: {command: ["claude"], secrets_env: [ANTHROPIC_API_KEY]}
database: {engine: sqlite, path: /var/lib/teleclaude/teleclaude.db}
socket: {path: /run/teleclaude/teleclaude.sock, group: teleclaude, mode: "0660"}
sessions: {min_uid: 1000, default_agent: shell}
`

func paths(t *testing.T, mode layout.Mode) layout.Paths {
	t.Helper()
	dir := t.TempDir()
	return layout.Paths{Mode: mode, ConfigFile: filepath.Join(dir, "config.yml"), SecretsFile: filepath.Join(dir, "secrets.yml"),
		DataDir: filepath.Join(dir, "data"), RunDir: filepath.Join(dir, "run"), Socket: filepath.Join(dir, "run", "teleclaude.sock")}
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func env(kv ...string) Getenv {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestLoadGood(t *testing.T) {
	p := paths(t, layout.System)
	write(t, p.ConfigFile, good, 0o644)
	c, err := Load(p, env())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Computer.Name != "devbox" || len(c.People) != 2 || c.Database.Engine != "sqlite" || c.MinUID() != 1000 {
		t.Errorf("unexpected config: %+v", c)
	}
	if c.Sessions.Host != HostAuto || c.Sessions.Tmux != "tmux" {
		t.Errorf("sessions defaults = %+v, want host auto and tmux from PATH", c.Sessions)
	}
	if c.Socket.Path != "/run/teleclaude/teleclaude.sock" || c.SocketMode() != 0o660 || c.Socket.Group != "teleclaude" {
		t.Errorf("socket = %+v", c.Socket)
	}
	p2, ok := c.PersonByOSUser("bob")
	if !ok || p2.Name != "bob" || p2.RoleValue() != identity.Member {
		t.Errorf("PersonByOSUser(bob) = %+v, %v", p2, ok)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings = %v, want none", c.Warnings)
	}
}

func TestSingleUserNeedsNoConfig(t *testing.T) {
	p := paths(t, layout.SingleUser)
	c, err := Load(p, env("HOME", "/home/solo"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Projects) != 1 || c.Projects[0] != (Project{Name: "home", Path: "/home/solo"}) {
		t.Errorf("projects = %+v, want the home directory as project home", c.Projects)
	}
	if c.File != "" || c.Database.Engine != "sqlite" || c.Database.Path != filepath.Join(p.DataDir, "teleclaude.db") {
		t.Errorf("defaults: file %q db %+v", c.File, c.Database)
	}
	if c.Socket.Path != p.Socket || c.SocketMode() != 0o600 || c.Socket.Group != "" {
		t.Errorf("socket = %+v, want %s 0600 no group", c.Socket, p.Socket)
	}
	if _, ok := c.Agents["shell"]; !ok || c.Sessions.DefaultAgent != "shell" {
		t.Errorf("agents = %v default %q, want a shell agent", c.Agents, c.Sessions.DefaultAgent)
	}
}

func TestSystemNeedsConfig(t *testing.T) {
	p := paths(t, layout.System)
	_, err := Load(p, env())
	if err == nil || !strings.Contains(err.Error(), p.ConfigFile+": system config not found") {
		t.Fatalf("err = %v, want it to name the missing file", err)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear, with file: prefix added
	}{
		{"not yaml", "people: [\n  - {name: a\n", []string{":1: did not find expected node content"}},
		{"tab indentation", "computer:\n\tname: x\n", []string{":2: found character that cannot start any token"}},
		{"top-level unknown key", good + "colour: blue\n", []string{`:13: unknown key "colour" in the top level (known: agents, computer, database, docs, logging, people, preferences, projects, sessions, socket)`}},
		{"nested unknown key", strings.Replace(good, "os_username: bob", "os_user: bob", 1), []string{`:4: unknown key "os_user" in people[1]`}},
		{"unknown role", strings.Replace(good, "role: member", "role: boss", 1), []string{`:4: people[1] (bob): role "boss": want one of admin, member, contributor, newcomer`}},
		{"public is not assignable", strings.Replace(good, "role: member", "role: public", 1), []string{`:4: people[1] (bob): role "public"`}},
		{"shared os_username", strings.Replace(good, "os_username: bob", "os_username: alice", 1), []string{`:4: os_username "alice" is mapped to two people (alice and bob)`}},
		{"duplicate key", good + "computer: {name: other}\n", []string{`:13: mapping key "computer" already defined at line 1`}},
		{"wrong type", strings.Replace(good, "min_uid: 1000", "min_uid: lots", 1), []string{":12: cannot unmarshal !!str `lots` into int"}},
		{"relative project", strings.Replace(good, "/srv/projects/demo", "projects/demo", 1), []string{`:6: projects[0] (demo): path "projects/demo" must be absolute`}},
		{"default agent missing", strings.Replace(good, "default_agent: shell", "default_agent: vim", 1), []string{`:12: sessions.default_agent "vim" is not one of the agents (claude, shell)`}},
		{"bad session host", strings.Replace(good, "default_agent: shell}", "default_agent: shell, host: docker}", 1), []string{`:12: sessions.host "docker": want auto, systemd or direct`}},
		{"negative max_running", strings.Replace(good, "default_agent: shell}", "default_agent: shell, max_running: -1}", 1), []string{`:12: sessions.max_running must be at least 1`}},
		{"relative tmux", strings.Replace(good, "default_agent: shell}", "default_agent: shell, tmux: bin/tmux}", 1), []string{`:12: sessions.tmux "bin/tmux": give an absolute path`}},
		{"bad engine", strings.Replace(good, "engine: sqlite", "engine: mysql", 1), []string{`:10: database.engine "mysql": want sqlite or postgresql`}},
		{"bad socket mode", strings.Replace(good, `mode: "0660"`, `mode: "rw"`, 1), []string{`:11: socket.mode "rw"`}},
		{"agent for an unknown role", strings.Replace(good, "agents:\n", "agents:\n  vim: {command: [vim], roles: [boss]}\n", 1), []string{`:8: agent vim: role "boss"`}},
		{"agent for an unknown person", strings.Replace(good, "agents:\n", "agents:\n  vim: {command: [vim], people: [carol]}\n", 1), []string{`:8: agent vim: "carol" is not one of the people`}},
		{"agent without command", strings.Replace(good, "agents:\n", "agents:\n  vim: {env: {A: b}}\n", 1), []string{`:8: agent vim: command is required`}},
		{"alias", "computer: &c {name: x}\nlogging: *c\n", []string{":2: YAML aliases"}},
		{"billion laughs", "computer: {name: x}\npeople:\n  - &a {name: lol, role: admin}\n  - &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  - &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  - [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n", []string{":4: YAML aliases"}},
		{"two documents", good + "---\ncomputer: {name: y}\n", []string{"more than one YAML document"}},
		{"empty", "", []string{":1: file is empty"}},
		{"only a comment", "# nothing\n", []string{":1: file is empty"}},
		{"every problem reported", strings.Replace(strings.Replace(good, "role: member", "role: boss", 1), "engine: sqlite", "engine: mysql", 1),
			[]string{`role "boss"`, `engine "mysql"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paths(t, layout.System)
			write(t, p.ConfigFile, tt.yaml, 0o644)
			_, err := Load(p, env())
			if err == nil {
				t.Fatal("Load succeeded, want problems")
			}
			if _, ok := err.(Problems); !ok {
				t.Errorf("err is %T, want Problems", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), p.ConfigFile+w) && !strings.Contains(err.Error(), w) {
					t.Errorf("err =\n%v\nwant it to contain %q", err, p.ConfigFile+w)
				}
				if !strings.HasPrefix(err.Error(), p.ConfigFile) {
					t.Errorf("err = %v, want it to start with the file name", err)
				}
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	p := paths(t, layout.System)
	deep := "computer: {name: x}\npeople:\n  - name: a\n    chat: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"
	write(t, p.ConfigFile, deep, 0o644)
	_, err := Load(p, env())
	if err == nil {
		t.Fatal("Load succeeded on a 5000-level document")
	}
}

func TestOversizedFile(t *testing.T) {
	p := paths(t, layout.System)
	write(t, p.ConfigFile, good+"# "+strings.Repeat("x", 2<<20)+"\n", 0o644)
	_, err := Load(p, env())
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("err = %v, want a size limit error", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	p := paths(t, layout.System)
	write(t, p.ConfigFile, good, 0o644)
	write(t, p.SecretsFile, "database: {password: fromfile}\nagent_env: {ANTHROPIC_API_KEY: filekey}\n", 0o600)
	c, err := Load(p, env(
		"TELECLAUDE_COMPUTER_NAME", "envbox",
		"TELECLAUDE_DB_ENGINE", "postgresql",
		"TELECLAUDE_DB_PASSWORD", "fromenv",
		"TELECLAUDE_MIN_UID", "500",
		"TELECLAUDE_LOG_LEVEL", "debug",
		"ANTHROPIC_API_KEY", "envkey",
	))
	if err != nil {
		t.Fatal(err)
	}
	if c.Computer.Name != "envbox" || c.Database.Engine != "postgresql" || c.MinUID() != 500 || c.Logging.Level != "debug" {
		t.Errorf("env did not override: %+v", c)
	}
	if c.Secrets.Database.Password != "fromenv" || c.Secrets.AgentEnv["ANTHROPIC_API_KEY"] != "envkey" {
		t.Errorf("secrets = %+v, want env values", c.Secrets)
	}
	if c.Database.User == "" || c.Database.DBName != "teleclaude" || c.Database.Port != 5432 {
		t.Errorf("postgres defaults not applied: %+v", c.Database)
	}
	if _, err := Load(p, env("TELECLAUDE_DB_PORT", "five")); err == nil || !strings.Contains(err.Error(), "TELECLAUDE_DB_PORT") {
		t.Errorf("bad port: err = %v", err)
	}
}

func TestSocketPrecedence(t *testing.T) {
	p := paths(t, layout.System)
	write(t, p.ConfigFile, good, 0o644)
	c, _ := Load(p, env())
	if c.Socket.Path != "/run/teleclaude/teleclaude.sock" {
		t.Errorf("file socket.path not used: %s", c.Socket.Path)
	}
	c, _ = Load(p, env(layout.EnvRunDir, "/x"))
	if c.Socket.Path != p.Socket {
		t.Errorf("TELECLAUDE_RUN_DIR: socket %s, want %s", c.Socket.Path, p.Socket)
	}
	c, _ = Load(p, env(layout.EnvSocket, "/y.sock"))
	if c.Socket.Path != p.Socket {
		t.Errorf("TELECLAUDE_SOCKET: socket %s, want %s", c.Socket.Path, p.Socket)
	}
}

// TestSecretsPermissions: in system mode the secrets are the service
// user's alone (root may read them anyway). A mode that lets the file's
// group or every user in is warned about with the fix, and the file is still
// read; a symlink is refused.
func TestSecretsPermissions(t *testing.T) {
	p := paths(t, layout.System)
	write(t, p.ConfigFile, good, 0o644)
	fix := "chown " + layout.ServiceUser(runtime.GOOS) + ":" + layout.RootGroup(runtime.GOOS) + " " + p.SecretsFile + " && chmod 0600 " + p.SecretsFile
	for _, tt := range []struct {
		mode os.FileMode
		want string // "" for no warning
	}{
		{0o600, ""},
		{0o400, ""},
		{0o640, "is open to its group"},
		{0o660, "is open to its group"},
		{0o604, "readable by every user"},
		{0o644, "readable by every user"},
	} {
		os.Remove(p.SecretsFile)
		write(t, p.SecretsFile, "database: {password: x}\n", tt.mode)
		c, err := Load(p, env())
		if err != nil {
			t.Fatalf("mode %04o: %v", tt.mode, err)
		}
		switch {
		case tt.want == "" && len(c.Warnings) != 0:
			t.Errorf("mode %04o: warnings = %v, want none", tt.mode, c.Warnings)
		case tt.want != "" && (len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], tt.want) || !strings.Contains(c.Warnings[0], "fix: "+fix)):
			t.Errorf("mode %04o: warnings = %v, want one saying %q with the fix %q", tt.mode, c.Warnings, tt.want, fix)
		}
		if c.Secrets.Database.Password != "x" {
			t.Errorf("mode %04o: the secrets must still be read; password %q", tt.mode, c.Secrets.Database.Password)
		}
	}

	os.Remove(p.SecretsFile)
	other := filepath.Join(t.TempDir(), "elsewhere.yml")
	write(t, other, "database: {password: x}\n", 0o600)
	if err := os.Symlink(other, p.SecretsFile); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p, env())
	if err == nil || !strings.Contains(err.Error(), "symlink") || !strings.Contains(err.Error(), fix) {
		t.Errorf("symlinked secrets: err = %v, want a refusal naming the symlink and %q", err, fix)
	}

	os.Remove(p.SecretsFile)
	write(t, p.SecretsFile, "database: {pasword: x}\n", 0o600)
	_, err = Load(p, env())
	if err == nil || !strings.Contains(err.Error(), p.SecretsFile+`:1: unknown key "pasword"`) {
		t.Errorf("typo in secrets: err = %v", err)
	}
}

func TestDatabaseDSN(t *testing.T) {
	c := &Config{Database: Database{Engine: "postgresql", Host: "/var/run/postgresql", Port: 5432, DBName: "teleclaude", User: "teleclaude", SSLMode: "disable"}}
	if got, want := c.DatabaseDSN(env()), "postgres://teleclaude@/teleclaude?host=%2Fvar%2Frun%2Fpostgresql&port=5432&sslmode=disable"; got != want {
		t.Errorf("DSN = %s, want %s", got, want)
	}
	c.Database.Host = "db.internal"
	c.Secrets.Database.Password = "p@ss word"
	if got, want := c.DatabaseDSN(env()), "postgres://teleclaude:p%40ss%20word@db.internal/teleclaude?port=5432&sslmode=disable"; got != want {
		t.Errorf("DSN = %s, want %s", got, want)
	}
	if got := c.DatabaseDSN(env("TELECLAUDE_DB_DSN", "postgres://x/y")); got != "postgres://x/y" {
		t.Errorf("TELECLAUDE_DB_DSN not used: %s", got)
	}
}

// TestSecretsBadInput: the secrets file gets the same strictness as the
// config, with its own name and lines in every message.
func TestSecretsBadInput(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"empty is fine", "", ""},
		{"only a comment is fine", "# none yet\n", ""},
		{"unknown key", "database: {pasword: x}\n", `:1: unknown key "pasword" in database (known: password)`},
		{"duplicate key", "database: {password: a}\ndatabase: {password: b}\n", `:2: mapping key "database" already defined at line 1`},
		{"wrong type", "agent_env: [ANTHROPIC_API_KEY]\n", ":1: cannot unmarshal !!seq into map[string]string"},
		{"alias bomb", "adapters:\n  a: &a {t: x}\n  b: *a\n", ":3: YAML aliases"},
		{"deep nesting", "adapters: " + strings.Repeat("{a: ", 40) + "x" + strings.Repeat("}", 40) + "\n", "nesting deeper than 32 levels"},
		{"syntax", "database: {password: x\n", "did not find expected ',' or '}'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paths(t, layout.System)
			write(t, p.ConfigFile, good, 0o644)
			write(t, p.SecretsFile, tt.yaml, 0o600)
			_, err := Load(p, env())
			if tt.want == "" {
				if err != nil {
					t.Errorf("err = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), p.SecretsFile) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %s%s", err, p.SecretsFile, tt.want)
			}
		})
	}
}

func TestSecretsUnreadable(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads any file")
	}
	p := paths(t, layout.System)
	write(t, p.ConfigFile, good, 0o644)
	write(t, p.SecretsFile, "database: {password: x}\n", 0o000)
	_, err := Load(p, env())
	fix := "chown " + layout.ServiceUser(runtime.GOOS) + ":" + layout.RootGroup(runtime.GOOS) + " " + p.SecretsFile + " && chmod 0600 " + p.SecretsFile
	if err == nil || !strings.Contains(err.Error(), "cannot read it as uid") || !strings.Contains(err.Error(), fix) {
		t.Errorf("err = %v, want the fix %q", err, fix)
	}
}

// TestSecretsOwner: run by root (config check, doctor), the secrets may be
// root's or the service user's; any other owner could rewrite them, which
// is warned about. The daemon itself (not root) accepts its own files and
// root's; that side runs end to end in e2e and the package tests.
func TestSecretsOwner(t *testing.T) {
	testenv.Root(t, "only root gives files away")
	svc, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody to play the service user")
	}
	svcUID, _ := strconv.Atoi(svc.Uid)
	p := paths(t, layout.System)
	p.ServiceUser = "nobody"
	write(t, p.ConfigFile, good, 0o644)
	write(t, p.SecretsFile, "database: {password: x}\n", 0o600)
	for _, tt := range []struct {
		uid  int
		warn bool
	}{{0, false}, {svcUID, false}, {4242, true}} {
		if err := os.Chown(p.SecretsFile, tt.uid, 0); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p, env())
		if err != nil {
			t.Fatalf("owner %d: %v", tt.uid, err)
		}
		want := "is owned by uid 4242, neither root nor the daemon's user"
		fix := "fix: chown nobody:" + layout.RootGroup(runtime.GOOS) + " " + p.SecretsFile
		switch {
		case tt.warn && (len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], want) || !strings.Contains(c.Warnings[0], fix)):
			t.Errorf("owner %d: warnings = %v, want one saying %q with %q", tt.uid, c.Warnings, want, fix)
		case !tt.warn && len(c.Warnings) != 0:
			t.Errorf("owner %d: warnings = %v, want none", tt.uid, c.Warnings)
		}
	}
}

// TestSecretInSystemConfig: the system config is world-readable, so a key
// pasted into it is refused, without repeating it.
func TestSecretInSystemConfig(t *testing.T) {
	p := paths(t, layout.System)
	key := "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
	write(t, p.ConfigFile, strings.Replace(good, `secrets_env: [ANTHROPIC_API_KEY]}`, `env: {ANTHROPIC_API_KEY: "`+key+`"}}`, 1), 0o644)
	_, err := Load(p, env())
	if err == nil || !strings.Contains(err.Error(), p.ConfigFile+":9: the value of ANTHROPIC_API_KEY looks like an Anthropic API key; this file must not hold secrets (move it to secrets.yml") {
		t.Errorf("err = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), key) {
		t.Errorf("the message repeats the key: %v", err)
	}
}

// TestPreferencesSection: single-user mode's config is also the user's
// file, so it may hold preferences, checked like any user's; the system
// config may not.
func TestPreferencesSection(t *testing.T) {
	p := paths(t, layout.SingleUser)
	write(t, p.ConfigFile, "preferences:\n  default_agent: shell\n  color: never\n", 0o600)
	if _, err := Load(p, env()); err != nil {
		t.Errorf("single-user with preferences: %v", err)
	}
	write(t, p.ConfigFile, "preferences:\n  default_agent: shell\n  github_token: x\n  color: purple\n", 0o600)
	_, err := Load(p, env())
	if err == nil || !strings.Contains(err.Error(), p.ConfigFile+`:3: "github_token" looks like the name of a secret`) {
		t.Errorf("secret-named key: err = %v", err)
	}

	p = paths(t, layout.System)
	write(t, p.ConfigFile, good+"preferences: {color: never}\n", 0o644)
	_, err = Load(p, env())
	if err == nil || !strings.Contains(err.Error(), p.ConfigFile+":13: preferences belong in each user's ~/.teleclaude/config.yml") {
		t.Errorf("system config with preferences: err = %v", err)
	}
}

func TestAgentMayStart(t *testing.T) {
	plain := Agent{Command: []string{"sh"}}
	keyed := Agent{Command: []string{"claude"}, SecretsEnv: []string{"KEY"}}
	chosen := Agent{Command: []string{"claude"}, SecretsEnv: []string{"KEY"}, Roles: []string{"admin"}, People: []string{"pat"}}
	for _, tc := range []struct {
		a      Agent
		person string
		role   identity.Role
		want   bool
	}{
		{plain, "nia", identity.Newcomer, true},
		{keyed, "nia", identity.Newcomer, false},
		{keyed, "cory", identity.Contributor, false},
		{keyed, "max", identity.Member, true},
		{keyed, "ada", identity.Admin, true},
		{chosen, "max", identity.Member, false},
		{chosen, "ada", identity.Admin, true},
		{chosen, "pat", identity.Newcomer, true},
	} {
		if got := tc.a.MayStart(tc.person, tc.role); got != tc.want {
			t.Errorf("%+v MayStart(%s, %s) = %v, want %v", tc.a, tc.person, tc.role, got, tc.want)
		}
	}
}

// TestQuotaKeys: the per-person quotas have defaults a shared machine
// survives, -1 turns one off, and a value too small is named with its line.
func TestQuotaKeys(t *testing.T) {
	p := paths(t, layout.System)
	write(t, p.ConfigFile, good, 0o644)
	c, err := Load(p, env())
	if err != nil {
		t.Fatal(err)
	}
	if tb, db, dc := c.Quotas(); tb != DefaultPersonTranscriptMaxBytes || db != DefaultDocsPersonMaxBytes || dc != DefaultDocsPersonMaxCount {
		t.Errorf("default quotas %d, %d, %d", tb, db, dc)
	}
	write(t, p.ConfigFile, good+"docs: {person_max_bytes: -1, person_max_count: 5}\n", 0o644)
	if c, err = Load(p, env()); err != nil {
		t.Fatal(err)
	}
	if tb, db, dc := c.Quotas(); tb != DefaultPersonTranscriptMaxBytes || db != 0 || dc != 5 {
		t.Errorf("quotas %d, %d, %d; want the default, none (0), 5", tb, db, dc)
	}
	bad := strings.Replace(good, "sessions: {min_uid: 1000, default_agent: shell}", "sessions: {min_uid: 1000, default_agent: shell, person_transcript_max_bytes: 1000}", 1) +
		"docs:\n  person_max_bytes: 10\n  person_max_count: -2\n"
	write(t, p.ConfigFile, bad, 0o644)
	_, err = Load(p, env())
	for _, want := range []string{"config.yml:12: sessions.person_transcript_max_bytes is 1000", "config.yml:14: docs.person_max_bytes is 10", "config.yml:15: docs.person_max_count is -2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load: %v; want %q", err, want)
		}
	}
}
