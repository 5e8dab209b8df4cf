//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/migrate/migratetest"
	"github.com/instruktai/teleclaude/internal/pgtest"
)

// upstreamInstall lays out a whole upstream (Python) TeleClaude install as
// its users have one: a checkout with config.yml, .env and the database
// its code makes (upstream's HEAD schema: FTS5 tables, triggers, WAL),
// filled; a home with ~/.teleclaude/teleclaude.yml naming people (two of
// them accounts here, one not) and per-person files; doc snippets in
// nested folders. One session has a NUL in its title, which a move
// refuses without --coerce.
func upstreamInstall(t *testing.T) (dir, home string) {
	t.Helper()
	dir, home = t.TempDir(), t.TempDir()
	rows := `
INSERT INTO sessions (session_id, computer_name, title, tmux_session_name, adapter_metadata, created_at, last_activity,
  project_path, active_agent, human_email, closed_at) VALUES
 ('up-max', 'devbox', 'max''s ünïcødé session 🚀', 'tc_max', '{"telegram": {"topic_id": 7}}', '2026-01-02 03:04:05',
  '2026-01-02T04:05:06.123456+00:00', '/home/max/Projects/api', 'claude', 'max@example.org', '2026-01-02 05:00:00'),
 ('up-ada', 'devbox', 'ada', 'tc_ada', NULL, '2026-02-01 10:00:00', NULL, '/home/ada/site', 'codex', 'ada@example.org', NULL),
 ('up-ghost', 'devbox', 'nobody here', NULL, '[]', '2026-02-03 10:00:00', '2026-02-03 11:00:00', NULL, NULL, 'ghost@example.org', NULL),
 ('up-nul', 'devbox', 'bad' || char(0) || 'title', NULL, NULL, '2026-03-01 00:00:00', NULL, NULL, NULL, NULL, NULL);
INSERT INTO memory_observations (memory_session_id, project, type, title, narrative, created_at, created_at_epoch)
  VALUES ('m1', 'api', 'note', 'indexed by FTS5', 'a narrative', '2026-02-01T00:00:00', 1769904000);
INSERT INTO system_settings (key, value) VALUES ('theme', 'dark');
INSERT INTO hook_outbox (session_id, event_type, payload, created_at) VALUES ('up-max', 'stop', '{"x": 1}', '2026-01-02 03:04:05');
`
	if _, err := migratetest.Build(dir, "PRAGMA journal_mode = wal;"+migratetest.MustSchema(t, migratetest.Head)+rows, false, nil); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(dir, "config.yml"): `computer:
  name: devbox
  user: max
  role: development
  default_working_dir: ${WORKING_DIR}
  trusted_dirs:
    - name: projects
      desc: coding projects
      path: /srv/projects
telegram:
  trusted_bots: [teleclaude_bot]
redis:
  enabled: true
  url: redis://redis.example.org:6379
  password: ${REDIS_PASSWORD}
agents:
  default: claude
  claude:
    enabled: true
`,
		filepath.Join(dir, ".env"): "WORKING_DIR=/srv/projects\nANTHROPIC_API_KEY=sk-e2e-secret\nREDIS_PASSWORD=redis-e2e-secret\n",
		filepath.Join(home, ".teleclaude", "teleclaude.yml"): "people:\n" +
			"  - {name: max, email: max@example.org, username: " + uMember + ", role: member}\n" +
			"  - {name: ada, email: ada@example.org, username: " + uAdmin + ", role: admin}\n" +
			"  - {name: Ghost, email: ghost@example.org, username: tce-no-such-user}\n",
		filepath.Join(home, ".teleclaude", "people", "max", "teleclaude.yml"): "creds:\n  telegram:\n    user_id: 42\n",
		filepath.Join(dir, "docs", "global", "baseline.md"):                   "# baseline\n",
		filepath.Join(dir, "docs", "global", "general", "policy", "a.md"):     "# policy a\n",
		filepath.Join(dir, "docs", "project", "design", "architecture.md"):    "# architecture\n",
	}
	migratetest.MustWriteFiles(t, files)
	return dir, home
}

// sha256sums is `sha256sum` over every file under the directories.
func sha256sums(t *testing.T, dirs ...string) string {
	t.Helper()
	var files []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if !e.IsDir() {
				files = append(files, p)
			}
			return nil
		})
	}
	slices.Sort(files)
	out, err := exec.Command(tool(t, "sha256sum"), files...).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestMigrateFromInstall moves a whole upstream install with one command,
// as an admin would: a run that fails (a value it will not change
// silently) commits nothing and changes no byte of the install; the
// re-run with --coerce moves everything (database, config, people, nested
// docs); the daemon then starts on the target and an admin lists the
// sessions through telec; every original file is as sha256sum knew it;
// a second run into the filled target is refused.
func TestMigrateFromInstall(t *testing.T) {
	requireRoot(t)
	dir, home := upstreamInstall(t)
	dsn := pgtest.DSN(t)
	work := t.TempDir()
	shared, out := filepath.Join(work, "shared"), filepath.Join(work, "import")
	env := []string{"TELECLAUDE_SHARED_DIR=" + shared, "TELECLAUDE_CONFIG_PATH=" + filepath.Join(work, "none.yml")}
	before := sha256sums(t, dir, home)
	if !strings.Contains(before, "teleclaude.db") || !strings.Contains(before, "architecture.md") {
		t.Fatalf("fixture incomplete:\n%s", before)
	}
	args := []string{"migrate", "--from-install", dir, "--to", dsn, "--home", home, "--owner", uMember2, "--split-out", out}

	// The dry run prints the plan and touches nothing.
	r := run(t, nil, env, teleBin, append(args, "--dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "tce-no-such-user") {
		t.Fatalf("dry run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Refused: the NUL in a title, named with --coerce.
	r = run(t, nil, env, teleBin, args...)
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "up-nul") || !strings.Contains(r.stderr+r.stdout, "--coerce") {
		t.Fatalf("move with a NUL in a title: exit %d; want a refusal naming the session and --coerce\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := sha256sums(t, dir, home); got != before {
		t.Fatalf("the install changed after a failed run:\n%s\nbefore:\n%s", got, before)
	}
	for _, p := range []string{out, shared} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written by a failed run", p)
		}
	}

	// The re-run, with --coerce, moves it all.
	r = run(t, nil, env, teleBin, append(args, "--coerce")...)
	if r.code != 0 {
		t.Fatalf("move: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"read back read-only: 4 sessions", "upstream.memory_observations", "memory_observations_fts", "docs: 3 copied",
		"To roll back to the upstream Python TeleClaude", "up-nul", "NOT MAPPED"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, secret := range []string{"sk-e2e-secret", "redis-e2e-secret"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("the report prints a secret (%s)", secret)
		}
	}
	if got := sha256sums(t, dir, home); got != before {
		t.Errorf("the install changed:\n%s\nbefore:\n%s", got, before)
	}
	if b, err := os.ReadFile(filepath.Join(shared, "global", "general", "policy", "a.md")); err != nil || string(b) != "# policy a\n" {
		t.Errorf("nested doc: %q, %v", b, err)
	}
	for _, f := range []string{"config.yml", "secrets.yml", "not-carried.yml"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("config import: %v", err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "secrets.yml")); !strings.Contains(string(b), "sk-e2e-secret") {
		t.Errorf("secrets.yml lacks the API key")
	}

	// The daemon starts on the target; the admin lists every session and
	// max his own (upstream's owner column through the people mapping).
	d := startDaemon(t, daemonOpts{dsn: dsn})
	all := decode[[]apitype.Session](t, d.telec(t, lookup(t, uAdmin), "sessions", "list", "--json"))
	var ids []string
	for _, s := range all {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"up-ada", "up-ghost", "up-max", "up-nul"}) {
		t.Errorf("the daemon lists %v; want the four upstream sessions", ids)
	}
	mine := decode[[]apitype.Session](t, d.telec(t, lookup(t, uMember), "sessions", "list", "--json"))
	if len(mine) != 1 || mine[0].ID != "up-max" || mine[0].Title != "max's ünïcødé session 🚀" {
		t.Errorf("max lists %+v; want his one session", mine)
	}

	// Again, into the filled target (the daemon stopped, so that its lock
	// is not what refuses): refused, the install as it was.
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	r = run(t, nil, env, teleBin, append(args[:len(args)-2], "--split-out", filepath.Join(work, "import2"), "--coerce")...)
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "not empty") {
		t.Errorf("second move: exit %d; want a refusal saying the target is not empty\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := sha256sums(t, dir, home); got != before {
		t.Error("the install changed after the refused second run")
	}
}
