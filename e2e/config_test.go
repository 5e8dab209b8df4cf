//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// plainConfig is a system config of this file's own, so that the line
// numbers below do not move with the harness's config.
const plainConfig = `computer: {name: e2e}
people:
  - {name: ada, role: admin, os_username: tce-admin}
  - {name: max, role: member, os_username: tce-member}
projects:
  - {name: demo, path: /tmp}
agents:
  shell: {command: ["/bin/sh"]}
socket: {group: tce-sock, mode: "0660"}
logging: {level: debug}
`

// TestConfigCheck: every problem of every layer with its file:line, exit 2;
// a good setup, exit 0.
func TestConfigCheck(t *testing.T) {
	requireRoot(t)
	dir := sharedDir(t, "c-")
	cfg := filepath.Join(dir, "config.yml")
	userFile := filepath.Join(dir, "user.yml")
	env := []string{"TELECLAUDE_SYSTEM_MODE=1", "TELECLAUDE_CONFIG_DIR=" + dir, "TELECLAUDE_DATA_DIR=" + dir, "TELECLAUDE_RUN_DIR=" + dir}

	os.WriteFile(cfg, []byte(strings.Replace(plainConfig, "role: member", "role: chief", 1)+"people: []\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "secrets.yml"), []byte("agent_env: {A: b}\nagent_env: {A: c}\n"), 0o600)
	os.WriteFile(userFile, []byte("preferences:\n  color: mauve\n"), 0o644)
	r := run(t, nil, env, teleBin, "config", "check", "--preferences", userFile)
	if r.code != 2 {
		t.Errorf("exit %d, want 2:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The config's first problem stops its decoding; the other layers are
	// still checked.
	for _, w := range []string{cfg + `:11: mapping key "people" already defined at line 2`, userFile + `:2: color "mauve": want auto, always, never`} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}

	os.WriteFile(cfg, []byte(strings.Replace(plainConfig, "role: member", "role: chief", 1)), 0o644)
	r = run(t, nil, env, teleBin, "config", "check", "--preferences", userFile)
	for _, w := range []string{cfg + `:4: people[1] (max): role "chief"`, filepath.Join(dir, "secrets.yml") + `:2: mapping key "agent_env" already defined at line 1`} {
		if r.code != 2 || !strings.Contains(r.stdout, w) {
			t.Errorf("exit %d, output lacks %q:\n%s", r.code, w, r.stdout)
		}
	}

	os.WriteFile(cfg, []byte(plainConfig), 0o644)
	secrets := filepath.Join(dir, "secrets.yml")
	os.WriteFile(secrets, []byte("agent_env: {A: b}\n"), 0o600)
	os.WriteFile(userFile, []byte("preferences: {color: never}\n"), 0o644)
	r = run(t, nil, env, teleBin, "config", "check", "--preferences", userFile)
	if r.code != 0 || !strings.Contains(r.stdout, "OK: 2 people, 1 projects, 1 agents") || strings.Contains(r.stdout, "warning") {
		t.Errorf("good config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Secrets the group may read, as an older install left them: a
	// warning with the fix, not a problem.
	os.Chmod(secrets, 0o640)
	r = run(t, nil, env, teleBin, "config", "check", "--preferences", userFile)
	if fix := "fix: chown teleclaude:root " + secrets + " && chmod 0600 " + secrets; r.code != 0 || !strings.Contains(r.stdout, "warning: "+secrets+" is open to its group") || !strings.Contains(r.stdout, fix) {
		t.Errorf("secrets open to the group: exit %d, want 0 and a warning with %q\n%s%s", r.code, fix, r.stdout, r.stderr)
	}
}

// TestConfigSplitAsRoot: run by root, split gives each file its owner and
// mode: the config root's, the secrets the service user's alone (not the
// socket group's), the preferences their user's.
func TestConfigSplitAsRoot(t *testing.T) {
	requireRoot(t)
	member := lookup(t, uMember)
	svc := lookup(t, svcUser)
	dir := sharedDir(t, "s-")
	old := filepath.Join(dir, "old.yml")
	content := strings.Replace(plainConfig, `shell: {command: ["/bin/sh"]}`, `shell: {command: ["/bin/sh"], env: {GITHUB_TOKEN: "ghp_0123456789abcdefghijABCDEFGHIJ012345"}}`, 1) +
		"preferences: {default_agent: shell}\n"
	os.WriteFile(old, []byte(content), 0o600)
	os.Chown(old, member.uid, member.gid)
	out := filepath.Join(dir, "out")

	r := run(t, nil, nil, teleBin, "config", "split", "--from", old, "--out", out, "--service-user", svcUser)
	if r.code != 0 || !strings.Contains(r.stdout, "checked: the three files load to the same configuration") {
		t.Fatalf("split: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := []struct {
		name     string
		uid, gid int
		mode     os.FileMode
	}{
		{"config.yml", 0, 0, 0o644},
		{"secrets.yml", svc.uid, 0, 0o600},
		{"user-config.yml", member.uid, member.gid, 0o644},
	}
	for _, w := range want {
		st, err := os.Stat(filepath.Join(out, w.name))
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if int(sys.Uid) != w.uid || int(sys.Gid) != w.gid || st.Mode().Perm() != w.mode {
			t.Errorf("%s: %d:%d %04o, want %d:%d %04o", w.name, sys.Uid, sys.Gid, st.Mode().Perm(), w.uid, w.gid, w.mode)
		}
	}
	if data, _ := os.ReadFile(old); string(data) != content {
		t.Error("split changed its input")
	}
	if st, _ := os.Stat(old); st.Mode().Perm() != 0o600 || int(st.Sys().(*syscall.Stat_t).Uid) != member.uid {
		t.Errorf("split changed its input's owner or mode: %v", st.Mode())
	}
	// The old --group still names the account (the service user's group
	// has its name), with a word that it is deprecated.
	if r := run(t, nil, nil, teleBin, "config", "split", "--from", old, "--out", out, "--group", svcUser); r.code != 1 ||
		!strings.Contains(r.stderr, "refusing to overwrite") || !strings.Contains(r.stderr, "use --service-user") {
		t.Errorf("second split: exit %d, %s", r.code, r.stderr)
	}
	// The result passes config check as the system config it is meant to be.
	env := []string{"TELECLAUDE_SYSTEM_MODE=1", "TELECLAUDE_CONFIG_DIR=" + out, "TELECLAUDE_DATA_DIR=" + dir, "TELECLAUDE_RUN_DIR=" + dir}
	if r := run(t, nil, env, teleBin, "config", "check", "--preferences", filepath.Join(out, "user-config.yml")); r.code != 0 {
		t.Errorf("config check of the split result: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestConfigCheckUserFileAsRoot: root checks a user's preferences file,
// which the user made a symbolic link to /etc/shadow, or swapped for a
// file of root's: refused, and nothing of the target is printed.
func TestConfigCheckUserFileAsRoot(t *testing.T) {
	requireRoot(t)
	member := lookup(t, uMember)
	dir := sharedDir(t, "u-")
	os.Chown(dir, member.uid, member.gid)
	env := []string{"TELECLAUDE_SYSTEM_MODE=1", "TELECLAUDE_CONFIG_DIR=" + dir, "TELECLAUDE_DATA_DIR=" + dir, "TELECLAUDE_RUN_DIR=" + dir}
	link := filepath.Join(dir, "user.yml")
	if err := os.Symlink("/etc/shadow", link); err != nil {
		t.Fatal(err)
	}
	os.Lchown(link, member.uid, member.gid)
	r := run(t, nil, env, teleBin, "config", "check", "--preferences", link)
	if r.code != 2 || !strings.Contains(r.stderr, "symbolic link") || strings.Contains(r.stdout+r.stderr, "root:") {
		t.Errorf("preferences linked to /etc/shadow: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	rootsFile := filepath.Join(dir, "prefs.yml")
	os.WriteFile(rootsFile, []byte("secret: value\n"), 0o600)
	r = run(t, nil, env, teleBin, "config", "check", "--preferences", rootsFile)
	if r.code != 2 || !strings.Contains(r.stderr, "not a file of that user's") || strings.Contains(r.stdout, "secret") {
		t.Errorf("root's file in the user's directory: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
