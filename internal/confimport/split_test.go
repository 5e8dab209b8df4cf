package confimport

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/prefs"
	"github.com/instruktai/teleclaude/internal/testenv"
)

const (
	claudeKey = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
	openaiKey = "sk-proj-ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210"
	tgToken   = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
)

const oneFileConfig = `# My devbox, as it ran for one user.
computer: {name: devbox}
people:
  - {name: alice, role: admin, os_username: alice}
  - {name: bob, role: member, os_username: bob}
projects:
  - {name: demo, path: /srv/projects/demo}  # the main one
agents:
  shell: {command: ["/bin/sh"]}
  claude:
    command: ["claude"]
    env:
      EDITOR: vim
      ANTHROPIC_API_KEY: "` + claudeKey + `"
  codex: {command: ["codex"], secrets_env: [OPENAI_API_KEY]}
database: {engine: sqlite, path: /var/lib/teleclaude/teleclaude.db}
sessions: {default_agent: shell}
secrets:
  database: {password: "db-pass"}
  adapters: {telegram: {token: "` + tgToken + `"}}
preferences:
  default_agent: claude
  color: never
`

const oneFileEnv = `# the old install's environment
OPENAI_API_KEY=` + openaiKey + `
export TELECLAUDE_COMPUTER_NAME="envbox"
TELECLAUDE_MIN_UID=500
TELECLAUDE_THINKING_MODE=high
TELECLAUDE_RUN_DIR=/run/old
RANDOM_TOKEN='abc def'
`

func systemPaths(t *testing.T) layout.Paths {
	t.Helper()
	dir := t.TempDir()
	return layout.Paths{Mode: layout.System, ConfigFile: "/etc/teleclaude/config.yml", SecretsFile: "/etc/teleclaude/secrets.yml",
		DataDir: filepath.Join(dir, "data"), RunDir: filepath.Join(dir, "run"), Socket: filepath.Join(dir, "run", "teleclaude.sock")}
}

type input struct {
	path  string
	data  []byte
	mtime time.Time
}

func writeInput(t *testing.T, dir, name, content string) input {
	t.Helper()
	path := filepath.Join(dir, name)
	write(t, path, content, 0o600)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(path, old, old)
	return input{path, []byte(content), old}
}

func (in input) untouched(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(in.path)
	st, _ := os.Stat(in.path)
	if err != nil || string(data) != string(in.data) || !st.ModTime().Equal(in.mtime) || st.Mode().Perm() != 0o600 {
		t.Errorf("input %s was touched: err %v, mtime %v (was %v), mode %v", in.path, err, st.ModTime(), in.mtime, st.Mode())
	}
}

// serviceUser is an account to play the service user: nobody when the test
// runs as root (so that secrets.yml is given away), else the caller.
func serviceUser(t *testing.T) *user.User {
	t.Helper()
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("nobody"); err == nil {
			return u
		}
	}
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSplitRoundTrip(t *testing.T) {
	in := t.TempDir()
	old := writeInput(t, in, "config.yml", oneFileConfig)
	env := writeInput(t, in, ".env", oneFileEnv)
	out := filepath.Join(t.TempDir(), "split")
	p := systemPaths(t)
	svc := serviceUser(t)

	res, err := Split(SplitOptions{From: old.path, EnvFile: env.path, OutDir: out, Paths: p, ServiceUser: svc.Username})
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	old.untouched(t)
	env.untouched(t)

	// The three layers load to what the one file (and its .env) meant.
	orig, err := loadOriginal(old.path, env.path, p)
	if err != nil {
		t.Fatal(err)
	}
	sp := p
	sp.ConfigFile, sp.SecretsFile = filepath.Join(out, "config.yml"), filepath.Join(out, "secrets.yml")
	c, err := config.Load(sp, func(string) string { return "" })
	if err != nil {
		t.Fatalf("the split config does not load: %v", err)
	}
	pr, err := prefs.Load(filepath.Join(out, "user-config.yml"), true, func(string) string { return "" })
	if err != nil {
		t.Fatalf("the split preferences do not load: %v", err)
	}
	if got, want := effectiveOf(c, pr), effectiveOf(orig.cfg, orig.prefs); !reflect.DeepEqual(got, want) {
		t.Errorf("effective config differs:\n got  %+v\n want %+v", got, want)
	}
	// Spot checks, so that a bug common to both sides cannot hide.
	if c.Computer.Name != "envbox" || c.MinUID() != 500 || c.Agents["claude"].Env["EDITOR"] != "vim" ||
		c.Secrets.AgentEnv["ANTHROPIC_API_KEY"] != claudeKey || c.Secrets.AgentEnv["OPENAI_API_KEY"] != openaiKey ||
		c.Secrets.Database.Password != "db-pass" || c.Secrets.Adapters["telegram"]["token"] != tgToken {
		t.Errorf("split config = %+v, secrets %+v", c, c.Secrets)
	}
	if pr != (prefs.Preferences{DefaultAgent: "claude", Color: "never", ThinkingMode: "high"}) {
		t.Errorf("split preferences = %+v", pr)
	}

	cfgText, _ := os.ReadFile(sp.ConfigFile)
	for _, secret := range []string{claudeKey, openaiKey, tgToken, "db-pass"} {
		if strings.Contains(string(cfgText), secret) {
			t.Errorf("config.yml holds a secret:\n%s", cfgText)
		}
	}
	if !strings.Contains(string(cfgText), "# My devbox") || !strings.Contains(string(cfgText), "# the main one") {
		t.Errorf("config.yml lost the comments:\n%s", cfgText)
	}

	// As root, secrets.yml is the service user's, group root, 0600: not
	// readable by the group every user of the socket is in.
	svcUID, _ := strconv.Atoi(svc.Uid)
	want := []struct {
		name     string
		uid, gid int
		mode     os.FileMode
	}{{"config.yml", 0, 0, 0o644}, {"secrets.yml", svcUID, 0, 0o600}, {"user-config.yml", 0, 0, 0o644}}
	for _, w := range want {
		st, err := os.Stat(filepath.Join(out, w.name))
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm() != w.mode {
			t.Errorf("%s: mode %04o, want %04o", w.name, st.Mode().Perm(), w.mode)
		}
		if os.Geteuid() == 0 && (int(sys.Uid) != w.uid || int(sys.Gid) != w.gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", w.name, sys.Uid, sys.Gid, w.uid, w.gid)
		}
	}
	if len(res.Files) != 3 || res.Files[1].InstallAs != "/etc/teleclaude/secrets.yml" {
		t.Errorf("files = %+v", res.Files)
	}
	if wantOwner := svc.Username + ":" + layout.RootGroup(runtime.GOOS); os.Geteuid() == 0 && res.Files[1].Owner != wantOwner {
		t.Errorf("secrets.yml reported as %s's, want %s", res.Files[1].Owner, wantOwner)
	}
	if secText, _ := os.ReadFile(sp.SecretsFile); !strings.Contains(string(secText), "("+svc.Username+":"+layout.RootGroup(runtime.GOOS)+" 0600)") {
		t.Errorf("secrets.yml does not say its owner and mode:\n%s", secText)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, w := range []string{
		"agents.claude.env.ANTHROPIC_API_KEY → secrets.yml agent_env",
		"OPENAI_API_KEY (" + env.path + ":2) → secrets.yml agent_env",
		"TELECLAUDE_COMPUTER_NAME (" + env.path + ":3) → config.yml computer.name",
		"TELECLAUDE_THINKING_MODE (" + env.path + ":5) → user-config.yml preferences",
		"TELECLAUDE_RUN_DIR (" + env.path + ":6): not carried",
		"RANDOM_TOKEN (" + env.path + ":7): not carried",
	} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	for _, secret := range []string{claudeKey, openaiKey, "abc def"} {
		if strings.Contains(notes, secret) {
			t.Errorf("notes repeat a secret:\n%s", notes)
		}
	}

	// A second split into the same place is refused and changes nothing.
	before, _ := os.ReadFile(sp.SecretsFile)
	if _, err := Split(SplitOptions{From: old.path, EnvFile: env.path, OutDir: out, Paths: p, ServiceUser: svc.Username}); !errors.Is(err, ErrExists) {
		t.Errorf("second split: err = %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(sp.SecretsFile); string(after) != string(before) {
		t.Error("a refused split changed secrets.yml")
	}
	old.untouched(t)
}

func TestSplitRefuses(t *testing.T) {
	p := systemPaths(t)
	tests := []struct {
		name, config, want string
		existing           string // a file already in the output directory
	}{
		{"one output exists", oneFileConfig, "refusing to overwrite", "user-config.yml"},
		{"bad input", strings.Replace(oneFileConfig, "role: member", "role: boss", 1), `config.yml:5: people[1] (bob): role "boss"`, ""},
		{"secret split cannot move", strings.Replace(oneFileConfig, `command: ["claude"]`, `command: ["claude", "--key", "`+openaiKey+`"]`, 1), "config.yml:11: the value of command looks like an OpenAI-style API key", ""},
		{"a value that would reach another agent", strings.Replace(oneFileConfig, `shell: {command: ["/bin/sh"]}`, `shell: {command: ["/bin/sh"], secrets_env: [ANTHROPIC_API_KEY]}`, 1), "agent shell names ANTHROPIC_API_KEY in secrets_env without a value", ""},
		{"one variable, two values", strings.Replace(oneFileConfig, `shell: {command: ["/bin/sh"]}`, `shell: {command: ["/bin/sh"], env: {ANTHROPIC_API_KEY: other}}`, 1), "set ANTHROPIC_API_KEY to different values", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := writeInput(t, t.TempDir(), "config.yml", tt.config)
			out := t.TempDir()
			if tt.existing != "" {
				write(t, filepath.Join(out, tt.existing), "mine\n", 0o644)
			}
			_, err := Split(SplitOptions{From: old.path, OutDir: out, Paths: p, ServiceUser: serviceUser(t).Username})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), openaiKey) {
				t.Errorf("the message repeats the key: %v", err)
			}
			entries, _ := os.ReadDir(out)
			if want := map[bool]int{true: 1, false: 0}[tt.existing != ""]; len(entries) != want {
				t.Errorf("output directory has %d files after a refusal, want %d", len(entries), want)
			}
			old.untouched(t)
		})
	}
}

// TestSplitNoServiceUser: as root, before the package has made the service
// user, secrets.yml stays root's (0600: the group sees nothing), and a note
// says what to run once the user exists.
func TestSplitNoServiceUser(t *testing.T) {
	testenv.Root(t, "only root gives files away")
	old := writeInput(t, t.TempDir(), "config.yml", oneFileConfig)
	out := filepath.Join(t.TempDir(), "split")
	res, err := Split(SplitOptions{From: old.path, OutDir: out, Paths: systemPaths(t), ServiceUser: "tce-no-such-user"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(out, "secrets.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 0 || sys.Gid != 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("secrets.yml: %d:%d %04o, want 0:0 0600", sys.Uid, sys.Gid, st.Mode().Perm())
	}
	note := "once it exists, run: chown tce-no-such-user:" + layout.RootGroup(runtime.GOOS) + " secrets.yml"
	if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "the service user tce-no-such-user does not exist") || !strings.Contains(notes, note) {
		t.Errorf("notes lack %q:\n%s", note, notes)
	}
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
