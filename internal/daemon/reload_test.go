package daemon

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/sirupsen/logrus"
)

const baseConfig = `computer: {name: box}
people:
  - {name: ann, role: admin, os_username: ann}
projects:
  - {name: demo, path: /srv/demo}
agents:
  shell: {command: ["/bin/sh"]}
`

// TestReload: SIGHUP's handler picks up people, roles, projects and agents;
// every kind of broken file keeps the running config and logs why.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	p := layout.Paths{Mode: layout.System, ConfigFile: filepath.Join(dir, "config.yml"), SecretsFile: filepath.Join(dir, "secrets.yml"),
		DataDir: dir, RunDir: dir, Socket: filepath.Join(dir, "t.sock")}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("config.yml", baseConfig)
	cfg, err := config.Load(p, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{paths: p}
	d.cfg.Store(cfg)
	var log bytes.Buffer
	logrus.SetOutput(&log)
	old := logrus.StandardLogger().Formatter
	logrus.SetFormatter(&logrus.TextFormatter{DisableQuote: true})
	t.Cleanup(func() { logrus.SetOutput(os.Stderr); logrus.SetFormatter(old) })

	// A sequence item inside the agents mapping: not YAML.
	write("config.yml", baseConfig+"  - {name: bob, role: newcomer, os_username: bob}\n")
	d.reload()
	if d.cfg.Load() != cfg || !strings.Contains(log.String(), "config.yml:6: did not find expected key") {
		t.Fatalf("a broken file replaced the running config, or the log does not say where:\n%s", log.String())
	}

	good := strings.Replace(baseConfig, "role: admin", "role: member", 1)
	good = strings.Replace(good, "projects:\n", "  - {name: bob, role: newcomer, os_username: bob}\nprojects:\n  - {name: web, path: /srv/web}\n", 1)
	good += "  codex: {command: [codex]}\n"
	write("config.yml", good)
	d.reload()
	now := d.cfg.Load()
	if pr, ok := now.PersonByOSUser("ann"); !ok || pr.Role != "member" {
		t.Errorf("role not reloaded: %+v", pr)
	}
	if _, ok := now.PersonByOSUser("bob"); !ok {
		t.Error("new person not reloaded")
	}
	if len(now.Projects) != 2 || now.Projects[0].Name != "web" {
		t.Errorf("projects not reloaded: %+v", now.Projects)
	}
	if _, ok := now.Agents["codex"]; !ok {
		t.Errorf("agents not reloaded: %v", now.Agents)
	}
	if !strings.Contains(log.String(), "2 people, 2 projects, 2 agents") {
		t.Errorf("log lacks the reload summary:\n%s", log.String())
	}

	secrets := filepath.Join(dir, "secrets.yml")
	bad := []struct {
		name, file, content, want string
	}{
		{"empty", "config.yml", "", "config.yml:1: file is empty"},
		{"yaml bomb", "config.yml", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "config.yml:2: YAML aliases"},
		{"deep nesting", "config.yml", "computer: " + strings.Repeat("[", 50) + strings.Repeat("]", 50) + "\n", "nesting deeper than 32 levels"},
		{"duplicate key", "config.yml", good + "computer: {name: again}\n", `mapping key "computer" already defined`},
		{"wrong type", "config.yml", good + "sessions: {min_uid: many}\n", "cannot unmarshal !!str `many` into int"},
		{"unknown role", "config.yml", strings.Replace(good, "role: newcomer", "role: owner", 1), `role "owner": want one of admin, member, contributor, newcomer`},
		{"shared os_username", "config.yml", strings.Replace(good, "os_username: bob", "os_username: ann", 1), `os_username "ann" is mapped to two people (ann and bob)`},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			log.Reset()
			write("config.yml", good)
			write(b.file, b.content)
			d.reload()
			if d.cfg.Load() != now {
				t.Error("the running config was replaced")
			}
			if !strings.Contains(log.String(), "reload failed; keeping the running config") || !strings.Contains(log.String(), b.want) {
				t.Errorf("log =\n%s\nwant the refusal naming %q", log.String(), b.want)
			}
		})
	}
	t.Run("secrets symlink", func(t *testing.T) {
		log.Reset()
		write("config.yml", good)
		elsewhere := filepath.Join(t.TempDir(), "other.yml")
		os.WriteFile(elsewhere, []byte("database: {password: x}\n"), 0o600)
		if err := os.Symlink(elsewhere, secrets); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(secrets)
		d.reload()
		if d.cfg.Load() != now || !strings.Contains(log.String(), "secrets file is a symlink") {
			t.Errorf("symlinked secrets: config replaced or log =\n%s", log.String())
		}
	})
}
