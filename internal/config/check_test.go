package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/layout"
)

func TestCheckEveryLayer(t *testing.T) {
	p := paths(t, layout.System)
	userFile := filepath.Join(t.TempDir(), "config.yml")
	write(t, p.ConfigFile, strings.Replace(strings.Replace(good, "role: member", "role: boss", 1), "engine: sqlite", "engine: mysql", 1), 0o644)
	write(t, p.SecretsFile, "database: {password: x}\n", 0o644)
	write(t, userFile, "preferences:\n  color: pink\n  api_key: x\n", 0o644)

	r := Check(p, env("TELECLAUDE_THINKING_MODE", "max"), userFile, true)
	got := r.Problems.Error()
	for _, w := range []string{
		p.ConfigFile + `:4: people[1] (bob): role "boss"`,
		p.ConfigFile + `:10: database.engine "mysql"`,
		userFile + `:3: "api_key" looks like the name of a secret`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("problems =\n%s\nwant %s", got, w)
		}
	}
	if r.Summary != "" {
		t.Errorf("summary %q with problems", r.Summary)
	}
	if len(r.Files) != 3 || !r.Files[0].Present || !r.Files[2].Present {
		t.Errorf("files = %+v", r.Files)
	}

	write(t, p.ConfigFile, good, 0o644)
	write(t, userFile, "preferences: {color: never}\n", 0o644)
	r = Check(p, env("TELECLAUDE_THINKING_MODE", "max"), userFile, true)
	if len(r.Problems) != 1 || r.Problems[0].String() != `TELECLAUDE_THINKING_MODE: thinking_mode "max": want off, low, medium, high` {
		t.Errorf("environment problem = %v", r.Problems)
	}
	r = Check(p, env(), userFile, true)
	if len(r.Problems) != 0 || r.Summary != "2 people, 1 projects, 2 agents; database sqlite" {
		t.Errorf("good setup: problems %v, summary %q", r.Problems, r.Summary)
	}
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "readable by every user") {
		t.Errorf("warnings = %v, want the secrets permission warning", r.Warnings)
	}
}

// TestCheckSingleUser: the config file is also the preferences file; a
// problem in it is reported once.
func TestCheckSingleUser(t *testing.T) {
	p := paths(t, layout.SingleUser)
	write(t, p.ConfigFile, "preferences:\n  thinking_mode: max\n", 0o600)
	r := Check(p, env(), p.ConfigFile, false)
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].String(), p.ConfigFile+`:2: thinking_mode "max"`) {
		t.Errorf("problems = %v, want the one, once", r.Problems)
	}
	if len(r.Files) != 2 {
		t.Errorf("files = %+v, want config and secrets only", r.Files)
	}
}

// TestCheckReportsEverythingAtOnce: structural problems (unknown keys, wrong
// types) do not hide the rest of the file's problems, nor the secrets'.
func TestCheckReportsEverythingAtOnce(t *testing.T) {
	p := paths(t, layout.System)
	cfg := strings.Replace(good, "role: member", "role: boss", 1)
	cfg = strings.Replace(cfg, "engine: sqlite", "engine: mysql", 1)
	cfg = strings.Replace(cfg, "sessions: {min_uid: 1000, default_agent: shell}", "sessions: {min_uid: 1000, default_agent: shell, max_running: lots}\nsesions: {}", 1)
	write(t, p.ConfigFile, cfg, 0o644)
	write(t, p.SecretsFile, "databse: {password: x}\n", 0o600)
	r := Check(p, env(), p.ConfigFile+".none", true)
	got := r.Problems.Error()
	for _, w := range []string{
		`unknown key "sesions"`,
		"cannot unmarshal !!str `lots` into int",
		`people[1] (bob): role "boss"`,
		`database.engine "mysql"`,
		p.SecretsFile + `:1: unknown key "databse"`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("problems =\n%s\nwant one with %s", got, w)
		}
	}
}

// TestCheckProjectDirectories: a project whose directory is missing, or
// closed to a person, is named with who cannot enter it.
func TestCheckProjectDirectories(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make a directory only root may enter")
	}
	p := paths(t, layout.System)
	dir, err := os.MkdirTemp("", "tc-projects-") // t.TempDir's parent is closed to others
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	open, closed := filepath.Join(dir, "open"), filepath.Join(dir, "closed")
	os.Mkdir(open, 0o755)
	os.Mkdir(closed, 0o700)
	cfg := strings.Replace(good, "  - {name: demo, path: /srv/projects/demo}\n",
		"  - {name: open, path: "+open+"}\n  - {name: closed, path: "+closed+"}\n  - {name: gone, path: "+filepath.Join(dir, "gone")+"}\n", 1)
	// People who exist on every Debian: root and nobody.
	cfg = strings.Replace(cfg, "os_username: alice", "os_username: root", 1)
	cfg = strings.Replace(cfg, "os_username: bob", "os_username: nobody", 1)
	write(t, p.ConfigFile, cfg, 0o644)
	r := Check(p, env(), p.ConfigFile+".none", true)
	got := strings.Join(r.Warnings, "\n")
	for _, w := range []string{
		"project gone: " + filepath.Join(dir, "gone") + " does not exist",
		"project closed: bob (nobody) cannot enter " + closed,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("warnings =\n%s\nwant %s", got, w)
		}
	}
	if strings.Contains(got, "project open") || strings.Contains(got, "alice (root)") {
		t.Errorf("warnings about what works:\n%s", got)
	}
}
