package confimport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/layout"
)

// upstreamConfig is a config.yml in the format of upstream's
// config.sample.yml: computer with trusted_dirs, chat adapters, redis,
// agents with enabled flags and a default, speech sections.
const upstreamConfig = `computer:
  name: devbox # Unique computer identifier
  user: ann
  role: development
  bot_username: teleclaude_devbox_bot
  is_master: false
  default_working_dir: ${WORKING_DIR}
  timezone: Europe/Amsterdam
  host: null
  trusted_dirs:
    - name: documents
      desc: personal documents
      path: ${HOME}/Documents
    - name: projects
      desc: coding projects
      path: ${HOME}/Projects

telegram:
  trusted_bots:
    - teleclaude_mac_bot
discord:
  enabled: false
  token: ${DISCORD_BOT_TOKEN}
  guild_id: ${DISCORD_GUILD_ID}

whatsapp:
  enabled: false
  template_language: en_US

redis:
  enabled: true
  url: redis://redis.example.org:6379
  password: ${REDIS_PASSWORD}

agents:
  default: claude
  claude:
    enabled: true
  gemini:
    enabled: false
  codex:
    enabled: true

stt:
  enabled: true
  service_priority:
    - parakeet
    - openai
tts:
  enabled: true
  events:
    session_start:
      enabled: true
`

const upstreamEnv = `# TeleClaude Configuration
WORKING_DIR=~/teleclaude

TELECLAUDE_LOG_LEVEL=INFO
OPENAI_API_KEY=sk-proj-secret1
TELEGRAM_BOT_TOKEN=1234567890:AAEZ-secret2
TELEGRAM_USER_IDS=123456789
DISCORD_BOT_TOKEN="discord-secret3"
DISCORD_GUILD_ID=42
REDIS_PASSWORD=redis-secret4
`

const upstreamPeople = `people:
  - name: Ann
    email: ann@example.org
    username: root
    role: admin
  - name: Bob
    email: bob@example.org
    username: no-such-user-here
  - name: Cy
    email: cy@example.org
    role: contributor
    expertise:
      go: expert
interests:
  - go
`

const upstreamPerson = `creds:
  telegram:
    user_name: ann
    user_id: 123456789
interests:
  - tmux
`

func install(t *testing.T) (dir, home string) {
	t.Helper()
	dir, home = t.TempDir(), t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "config.yml"), upstreamConfig)
	write(filepath.Join(dir, ".env"), upstreamEnv)
	write(filepath.Join(dir, "teleclaude.db"), "SQLite format 3\x00")
	write(filepath.Join(home, ".teleclaude", "teleclaude.yml"), upstreamPeople)
	write(filepath.Join(home, ".teleclaude", "people", "ann", "teleclaude.yml"), upstreamPerson)
	return dir, home
}

func lookupRoot(name string) (int, bool) {
	if name == "root" || name == "daemon" {
		return map[string]int{"root": 0, "daemon": 1}[name], true
	}
	return 0, false
}

// TestImportUpstream: the real formats become our config (which our own
// strict loader accepts), secrets.yml 0600 with every key and token,
// and not-carried.yml with everything else verbatim, listed by file:line.
func TestImportUpstream(t *testing.T) {
	dir, home := install(t)
	p, err := Find(Options{Dir: dir, Home: home, LookupUser: lookupRoot})
	if err != nil {
		t.Fatal(err)
	}
	if p.Computer != "devbox" || p.DefaultAgent != "claude" || strings.Join(p.Agents, ",") != "claude,codex" {
		t.Errorf("plan: computer %q, agents %v, default %q", p.Computer, p.Agents, p.DefaultAgent)
	}
	wantProjects := []config.Project{{Name: "teleclaude", Path: home + "/teleclaude"}, {Name: "documents", Path: home + "/Documents"}, {Name: "projects", Path: home + "/Projects"}}
	if len(p.Projects) != 3 || p.Projects[0] != wantProjects[0] || p.Projects[1] != wantProjects[1] || p.Projects[2] != wantProjects[2] {
		t.Errorf("projects %v; want %v", p.Projects, wantProjects)
	}
	if len(p.People) != 3 || !p.People[0].Mapped || p.People[1].Mapped || !strings.Contains(p.People[1].Why, "no account") || p.People[2].Mapped {
		t.Errorf("people %+v", p.People)
	}
	var items []string
	for _, i := range p.NotCarried {
		items = append(items, i.String())
	}
	all := strings.Join(items, "\n")
	for _, want := range []string{
		dir + "/config.yml:18 telegram", dir + "/config.yml:21 discord", dir + "/config.yml:30 redis", dir + "/config.yml:44 stt",
		dir + "/config.yml:3 computer.user", dir + "/config.yml:8 computer.timezone",
		dir + "/.env:4 TELECLAUDE_LOG_LEVEL", dir + "/.env:7 TELEGRAM_USER_IDS",
		home + "/.teleclaude/teleclaude.yml:14 interests", home + "/.teleclaude/teleclaude.yml:12 people[2].expertise", dir + "/config.yml:12 computer.trusted_dirs[0].desc", home + "/.teleclaude/people/ann/teleclaude.yml:1 creds",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("not-carried lacks %q:\n%s", want, all)
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	files, err := p.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("wrote %v", files)
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"config.yml", 0o644}, {"secrets.yml", 0o600}, {"not-carried.yml", 0o600}} {
		st, err := os.Stat(filepath.Join(out, f.name))
		if err != nil || st.Mode().Perm() != f.mode {
			t.Errorf("%s: %v %v; want mode %o", f.name, st.Mode(), err, f.mode)
		}
	}
	cfgText, _ := os.ReadFile(filepath.Join(out, "config.yml"))
	for _, s := range []string{"secret1", "secret2", "secret3", "secret4"} {
		if strings.Contains(string(cfgText), s) {
			t.Errorf("config.yml holds a secret: %s", cfgText)
		}
	}
	sec, _ := os.ReadFile(filepath.Join(out, "secrets.yml"))
	for _, s := range []string{"sk-proj-secret1", "1234567890:AAEZ-secret2", "discord-secret3", "redis-secret4"} {
		if !strings.Contains(string(sec), s) {
			t.Errorf("secrets.yml lacks %s", s)
		}
	}
	nc, _ := os.ReadFile(filepath.Join(out, "not-carried.yml"))
	var ncDoc map[string]any
	if err := yaml.Unmarshal(nc, &ncDoc); err != nil {
		t.Fatalf("not-carried.yml: %v", err)
	}
	if r, _ := ncDoc[dir+"/config.yml:30 redis"].(map[string]any); r["url"] != "redis://redis.example.org:6379" {
		t.Errorf("redis not verbatim: %v", ncDoc[dir+"/config.yml:30 redis"])
	}
	// Our own loader accepts the result.
	paths := layout.Paths{Mode: layout.System, ServiceUser: "root", ConfigFile: filepath.Join(out, "config.yml"), SecretsFile: filepath.Join(out, "secrets.yml"),
		DataDir: t.TempDir(), RunDir: t.TempDir(), Socket: filepath.Join(t.TempDir(), "s"), SharedDir: t.TempDir()}
	c, err := config.Load(paths, func(string) string { return "" })
	if err != nil {
		t.Fatalf("the imported config does not load: %v", err)
	}
	if c.Computer.Name != "devbox" || len(c.People) != 3 || c.People[0].OSUsername != "root" || c.Sessions.DefaultAgent != "claude" {
		t.Errorf("loaded %+v", c)
	}
	// config split recognises the format, and not ours.
	if !IsUpstream(filepath.Join(dir, "config.yml")) {
		t.Error("IsUpstream: false for upstream's config.yml")
	}
	if IsUpstream(filepath.Join(out, "config.yml")) {
		t.Error("IsUpstream: true for our own config.yml")
	}
	cp, err := Find(Options{ConfigOnly: true, Config: filepath.Join(dir, "config.yml"), Env: filepath.Join(dir, ".env"), Home: home, LookupUser: lookupRoot})
	if err != nil || cp.Computer != "devbox" || len(cp.People) != 3 || cp.Database != "" {
		t.Errorf("config only: %+v, %v", cp, err)
	}
	// Never overwriting.
	if _, err := p.Write(out); !errors.Is(err, ErrExists) {
		t.Errorf("second write: %v; want ErrExists", err)
	}
}

// TestImportBadInput: each defect is a clear error naming the file.
func TestImportBadInput(t *testing.T) {
	cases := []struct {
		name string
		edit func(dir, home string)
		want string
	}{
		{"no database", func(dir, _ string) { os.Remove(filepath.Join(dir, "teleclaude.db")) }, "no teleclaude.db"},
		{"no config", func(dir, _ string) { os.Remove(filepath.Join(dir, "config.yml")) }, "no config.yml"},
		{"no computer name", func(dir, _ string) {
			os.WriteFile(filepath.Join(dir, "config.yml"), []byte("computer:\n  role: x\n"), 0o644)
		}, "computer.name is required"},
		{"broken YAML", func(dir, _ string) { os.WriteFile(filepath.Join(dir, "config.yml"), []byte("computer: [\n"), 0o644) }, "not YAML"},
		{"default agent disabled", func(dir, _ string) {
			b, _ := os.ReadFile(filepath.Join(dir, "config.yml"))
			os.WriteFile(filepath.Join(dir, "config.yml"), []byte(strings.Replace(string(b), "default: claude", "default: gemini", 1)), 0o644)
		}, `agents.default is "gemini"`},
		{"two people, one OS user", func(_, home string) {
			os.WriteFile(filepath.Join(home, ".teleclaude", "teleclaude.yml"), []byte(`people:
  - {name: Ann, email: a@x, username: root}
  - {name: Al, email: al@x, username: root}
`), 0o644)
		}, "Ann and Al both name OS user root"},
		{"a role upstream rejects", func(_, home string) {
			os.WriteFile(filepath.Join(home, ".teleclaude", "teleclaude.yml"), []byte("people:\n  - {name: Ann, email: a@x, role: boss}\n"), 0o644)
		}, `role "boss"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, home := install(t)
			tc.edit(dir, home)
			_, err := Find(Options{Dir: dir, Home: home, LookupUser: lookupRoot})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want %q", err, tc.want)
			}
		})
	}
}
