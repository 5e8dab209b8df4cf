//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/instruktai/teleclaude/internal/store"
)

// sqliteSource makes a small SQLite database as a daemon would have: an
// owned session with a transcript, an unowned one, and an audit record.
func sqliteSource(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "teleclaude.db")
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Engine: store.SQLite, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	uid, person := int64(4000), "someone"
	for _, s := range []*store.Session{
		{ID: "owned", OwnerPerson: &person, OwnerUID: &uid, Project: "demo", Agent: "shell", Status: "running"},
		{ID: "legacy", Project: "demo", Agent: "shell", Status: "ended"},
	} {
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var entries []store.TranscriptEntry
	for i := 0; i < 5000; i++ {
		entries = append(entries, store.TranscriptEntry{Direction: "out", Content: "line ünïcødé"})
	}
	if _, err := st.AppendTranscript(ctx, "owned", entries...); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAudit(ctx, store.AuditRecord{ActorUID: 0, ActorPID: 1, Action: "test"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMigrateCommand runs `teleclaude migrate` as an admin would: its exit
// codes, its JSON and human reports, the owner's person from the system
// config, progress only on a terminal, and --copy-docs.
func TestMigrateCommand(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte("computer: {name: e2e}\npeople:\n  - {name: member-person, role: member, os_username: "+uMember+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, shared := filepath.Join(dir, "docs"), filepath.Join(dir, "shared")
	os.Mkdir(docs, 0o755)
	os.WriteFile(filepath.Join(docs, "welcome.md"), []byte("# Welcome\n"), 0o644)
	env := []string{"TELECLAUDE_CONFIG_PATH=" + cfg, "TELECLAUDE_SHARED_DIR=" + shared}

	src := sqliteSource(t)
	dsn := pgtest.DSN(t)
	r := run(t, nil, env, teleBin, "migrate", "--from", src, "--to", dsn, "--owner", uMember, "--copy-docs", docs, "--json")
	if r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		OK            bool  `json:"ok"`
		OwnerAssigned int64 `json:"owner_assigned"`
		Tables        []struct {
			Name       string `json:"name"`
			TargetRows int64  `json:"target_rows"`
			Verified   bool   `json:"verified"`
		} `json:"tables"`
		Docs []struct{ Name, Result string } `json:"docs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	if !rep.OK || rep.OwnerAssigned != 1 || len(rep.Docs) != 1 || !strings.HasPrefix(rep.Docs[0].Result, "copied") {
		t.Errorf("report: %+v", rep)
	}
	var names []string
	for _, tb := range rep.Tables {
		names = append(names, tb.Name)
		if !tb.Verified {
			t.Errorf("table %s not verified", tb.Name)
		}
	}
	slices.Sort(names)
	if want := []string{"audit_log", "doc_owners", "person_usage", "session_accounts", "sessions", "transcript_entries", "transcript_usage"}; !slices.Equal(names, want) {
		t.Errorf("tables in the report: %v, want %v", names, want)
	}
	if strings.Contains(r.stderr, "\r") || strings.Contains(r.stderr, "\033[") {
		t.Errorf("progress drawn on a stderr that is not a terminal: %q", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(shared, "welcome.md")); err != nil {
		t.Errorf("--copy-docs: %v", err)
	}
	st, err := store.Open(context.Background(), store.Config{Engine: store.PostgreSQL, DSN: dsn}, store.WithoutLock())
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := st.GetSession(context.Background(), "legacy")
	st.Close()
	if err != nil || legacy.OwnerPerson == nil || *legacy.OwnerPerson != "member-person" || *legacy.OwnerUID != int64(lookup(t, uMember).uid) {
		t.Errorf("the unowned session after migrate: %+v, %v; want member-person and %s's uid", legacy, err, uMember)
	}

	// Again into the same target: refused, exit 1, saying why.
	r = run(t, nil, env, teleBin, "migrate", "--from", src, "--to", dsn, "--owner", uMember)
	if r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("second migrate: exit %d, stderr %q; want 1 and 'not empty'", r.code, r.stderr)
	}
	// Usage mistakes: exit 2.
	if r = run(t, nil, env, teleBin, "migrate", "--from", src); r.code != 2 || !strings.Contains(r.stderr, "--to") {
		t.Errorf("migrate without --to: exit %d, %q; want 2 naming --to", r.code, r.stderr)
	}
	if r = run(t, nil, env, teleBin, "migrate", "--from", sqliteSource(t), "--to", pgtest.DSN(t), "--owner", uMember, "--split-config", "/nonexistent/old.yml"); r.code != 2 || !strings.Contains(r.stderr, "--split-config") {
		t.Errorf("--split-config of a missing file: exit %d, %q; want 2 before anything is migrated", r.code, r.stderr)
	}
	// Root without --owner, SUDO_USER unset, with unowned sessions: usage.
	if r = run(t, nil, env, teleBin, "migrate", "--from", sqliteSource(t), "--to", pgtest.DSN(t)); r.code != 2 || !strings.Contains(r.stderr, "--owner") {
		t.Errorf("root without --owner: exit %d, %q; want 2 asking for --owner", r.code, r.stderr)
	}
}

// TestMigrateProgressOnTerminal: on a terminal, progress is drawn, the
// report printed, and the rollback explained.
func TestMigrateProgressOnTerminal(t *testing.T) {
	requireRoot(t)
	script := tool(t, "script")
	src, dsn := sqliteSource(t), pgtest.DSN(t)
	line := strings.Join([]string{teleBin, "migrate", "--from", src, "--to", "'" + dsn + "'", "--owner", uMember}, " ")
	cmd := exec.Command(script, "-qec", line, "/dev/null")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "TERM=dumb"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("migrate on a terminal: %v\n%s", err, out)
	}
	for _, want := range []string{"\033[K", "copy   transcript_entries", "verified", "To roll back"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output on a terminal lacks %q:\n%s", want, out)
		}
	}
}

// TestMigrateSplitConfig: migrate also splits the old one-file config into
// the three layers, after the database, never touching the input.
func TestMigrateSplitConfig(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	old := filepath.Join(dir, "old.yml")
	oneFile := "computer: {name: oldbox}\npeople:\n  - {name: member-person, role: member, os_username: " + uMember + "}\n" +
		"projects:\n  - {name: demo, path: /srv/demo}\nagents:\n  shell: {command: [\"/bin/sh\"]}\n" +
		"secrets:\n  database: {password: \"db-pass\"}\npreferences:\n  color: never\n"
	if err := os.WriteFile(old, []byte(oneFile), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "split")
	env := []string{"TELECLAUDE_CONFIG_PATH=" + old}
	r := run(t, nil, env, teleBin, "migrate", "--from", sqliteSource(t), "--to", pgtest.DSN(t), "--owner", uMember,
		"--split-config", old, "--split-out", out, "--split-service-user", svcUser)
	if r.code != 0 {
		t.Fatalf("migrate --split-config: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	svc := lookup(t, svcUser)
	for _, f := range []struct {
		name string
		uid  int
		mode os.FileMode
	}{{"config.yml", 0, 0o644}, {"secrets.yml", svc.uid, 0o600}, {"user-config.yml", 0, 0o644}} {
		st, err := os.Stat(filepath.Join(out, f.name))
		if err != nil || st.Mode().Perm() != f.mode || int(st.Sys().(*syscall.Stat_t).Uid) != f.uid {
			t.Errorf("%s: %v %v, want uid %d, mode %v", f.name, st, err, f.uid, f.mode)
		}
		if !strings.Contains(r.stdout, "config split: wrote "+filepath.Join(out, f.name)) {
			t.Errorf("the report does not list %s:\n%s", f.name, r.stdout)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "secrets.yml")); !strings.Contains(string(b), "db-pass") {
		t.Errorf("secrets.yml lacks the database password:\n%s", b)
	}
	if b, _ := os.ReadFile(old); string(b) != oneFile {
		t.Error("the old config was changed")
	}
}
