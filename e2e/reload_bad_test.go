//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/instruktai/teleclaude/internal/apitype"
)

// TestReloadBadInputs sends SIGHUP after each kind of broken input, under a
// listening NOTIFY_SOCKET: every reload is framed by RELOADING=1 … READY=1,
// every refusal is logged with its file:line, and the daemon keeps serving
// its last good config throughout.
func TestReloadBadInputs(t *testing.T) {
	requireRoot(t)
	notify, next := listenNotify(t)
	d := startDaemon(t, daemonOpts{extraEnv: []string{"NOTIFY_SOCKET=" + notify}})
	for _, want := range []string{"READY=1", "STATUS=serving on "} {
		if msg := next(); !strings.HasPrefix(msg, want) {
			t.Fatalf("at start: %q, want %s", msg, want)
		}
	}
	etc := filepath.Join(d.dir, "etc")
	pub := lookup(t, uPublic)
	role := func() string { return decode[apitype.Whoami](t, d.telec(t, pub, "whoami", "--json")).Role }
	reload := func() {
		t.Helper()
		d.cmd.Process.Signal(syscall.SIGHUP)
		if msg := next(); !strings.HasPrefix(msg, "RELOADING=1\nMONOTONIC_USEC=") {
			t.Fatalf("after SIGHUP: %q, want RELOADING=1 with MONOTONIC_USEC", msg)
		}
		if msg := next(); msg != "READY=1" {
			t.Fatalf("after the reload: %q, want READY=1", msg)
		}
	}

	// The config the daemon started with, plus a person for tce-public.
	started, err := os.ReadFile(filepath.Join(etc, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	good := strings.Replace(string(started), "projects:", "  - {name: pat, role: contributor, os_username: tce-public}\nprojects:", 1)
	os.WriteFile(filepath.Join(etc, "config.yml"), []byte(good), 0o644)
	reload()
	if r := role(); r != "contributor" {
		t.Fatalf("after a good reload: %s, want contributor", r)
	}

	bad := []struct {
		name, file, content, want string
	}{
		{"empty file", "config.yml", "", "config.yml:1: file is empty"},
		{"yaml bomb", "config.yml", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n", "config.yml:2: YAML aliases"},
		{"deep nesting", "config.yml", good + "logging: " + strings.Repeat("{a: ", 100) + "x" + strings.Repeat("}", 100) + "\n", "nesting deeper than 32 levels"},
		{"duplicate key", "config.yml", good + "computer: {name: twice}\n", `mapping key \"computer\" already defined at line 1`},
		{"wrong type", "config.yml", strings.Replace(good, "logging: {level: debug}", "logging: {level: [debug]}", 1), "cannot unmarshal !!seq into string"},
		{"unknown role", "config.yml", strings.Replace(good, "role: contributor", "role: overlord", 1), `role \"overlord\": want one of admin, member, contributor, newcomer`},
		{"shared os_username", "config.yml", strings.Replace(good, "os_username: tce-public", "os_username: tce-member", 1), `os_username \"tce-member\" is mapped to two people (max and pat)`},
		{"secrets symlink", "secrets.yml", "", "secrets file is a symlink"},
		{"secrets duplicate key", "secrets.yml", "database: {password: a}\ndatabase: {password: b}\n", `secrets.yml:2: mapping key \"database\" already defined`},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(etc, "config.yml"), []byte(good), 0o644)
			secrets := filepath.Join(etc, "secrets.yml")
			os.Remove(secrets)
			if b.name == "secrets symlink" {
				target := filepath.Join(d.dir, "elsewhere.yml")
				os.WriteFile(target, []byte("database: {password: x}\n"), 0o644)
				os.Symlink(target, secrets)
			} else {
				os.WriteFile(filepath.Join(etc, b.file), []byte(b.content), 0o644)
			}
			refusals := func() int { return strings.Count(d.stderr.String(), "reload failed; keeping the running config") }
			before := refusals()
			reload()
			// The log travels through a pipe; READY=1 may arrive first.
			waitFor(t, func() bool { return refusals() > before })
			if log := d.stderr.String(); refusals() != before+1 || !strings.Contains(log, b.want) {
				t.Errorf("the daemon's log does not refuse the reload naming %q:\n%s", b.want, log[max(0, len(log)-3000):])
			}
			if r := role(); r != "contributor" {
				t.Errorf("after a refused reload: role %s, want the last good config's contributor", r)
			}
		})
	}
	os.Remove(filepath.Join(etc, "secrets.yml"))
	select {
	case <-d.done:
		t.Fatalf("the daemon exited:\n%s", d.stderr)
	default:
	}
}
