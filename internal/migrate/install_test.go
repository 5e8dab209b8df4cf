package migrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/migrate/migratetest"
	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/instruktai/teleclaude/internal/store"
)

// An upstream install in upstream's formats (config.sample.yml, .env,
// ~/.teleclaude/teleclaude.yml, per-person files, nested doc snippets).
const (
	installConfig = `computer:
  name: devbox
  user: ann
  role: development
  default_working_dir: ${WORKING_DIR}
  timezone: Europe/Amsterdam
  trusted_dirs:
    - name: projects
      desc: coding projects
      path: ${HOME}/Projects
telegram:
  trusted_bots: [teleclaude_mac_bot]
redis:
  enabled: true
  url: redis://redis.example.org:6379
  password: ${REDIS_PASSWORD}
agents:
  default: claude
  claude:
    enabled: true
  codex:
    enabled: false
`
	installEnv    = "WORKING_DIR=~/teleclaude\nOPENAI_API_KEY=sk-secret\nREDIS_PASSWORD=redis-secret\n"
	installPeople = `people:
  - name: Ann
    email: ann@example.org
    username: root
    role: admin
  - name: Bob
    email: bob@example.org
    username: no-such-account
`
)

func lookupTest(name string) (int, bool) {
	if name == "root" {
		return 0, true
	}
	return 0, false
}

// makeInstall lays out an upstream checkout (with its database, made from
// upstream's HEAD schema and filled) and a home.
func makeInstall(t *testing.T) (dir, home string) {
	t.Helper()
	dir, home = t.TempDir(), t.TempDir()
	db, _ := makeUpstreamReal(t, "schema-451f0fb.sql", 6, false)
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(dir, "teleclaude.db"):                                   string(b),
		filepath.Join(dir, "config.yml"):                                      installConfig,
		filepath.Join(dir, ".env"):                                            installEnv,
		filepath.Join(dir, "docs", "global", "baseline.md"):                   "# baseline\n",
		filepath.Join(dir, "docs", "global", "general", "policy", "a.md"):     "# a\n",
		filepath.Join(dir, "docs", "project", "design", "architecture.md"):    "# arch\n",
		filepath.Join(dir, "docs", "third-party", "x", "notes.md"):            "# x\n",
		filepath.Join(home, ".teleclaude", "teleclaude.yml"):                  installPeople,
		filepath.Join(home, ".teleclaude", "people", "ann", "teleclaude.yml"): "creds:\n  telegram:\n    user_id: 1\n",
	}
	migratetest.MustWriteFiles(t, files)
	return dir, home
}

// treeState hashes every file under the given directories.
func treeState(t *testing.T, dirs ...string) string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if !e.IsDir() {
				out = append(out, p+" "+fileSum(t, p))
			}
			return nil
		})
	}
	return strings.Join(out, "\n")
}

func installT(t *testing.T, dir, home, dsn, out, shared string, dry bool) (*InstallReport, error) {
	t.Helper()
	return RunInstall(context.Background(), InstallOptions{Dir: dir, Home: home, Out: out, SharedDir: shared, DryRun: dry, LookupUser: lookupTest,
		Migration: Options{To: dsn, Owner: testOwner, Holder: "migrate test"}})
}

// TestFromInstall: one command moves the whole install; a dry run first
// touches nothing; the daemon then opens the target and lists the
// sessions; every original file is byte-identical; a second run into the
// filled target is refused, and leaves the originals as they were.
func TestFromInstall(t *testing.T) {
	dir, home := makeInstall(t)
	dsn := pgtest.DSN(t)
	out, shared := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "shared")
	before := treeState(t, dir, home)

	ir, err := installT(t, dir, home, dsn, out, shared, true)
	if err != nil || ir.Database != nil {
		t.Fatalf("dry run: %v, %+v", err, ir.Database)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the dry run wrote the config")
	}
	if n := targetCounts(t, dsn)["sessions"]; n != 0 {
		t.Errorf("the dry run moved %d sessions", n)
	}

	ir, err = installT(t, dir, home, dsn, out, shared, false)
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	var text strings.Builder
	ir.Print(&text)
	for _, want := range []string{"docs: 4 copied", "read back read-only: 6 sessions", "person Bob <bob@example.org> member → NOT MAPPED",
		"config.yml:11 telegram", "To roll back to the upstream Python TeleClaude", "memory_observations_fts", "upstream.memory_observations"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
	for _, secret := range []string{"sk-secret", "redis-secret"} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("report prints a secret")
		}
	}
	if b, err := os.ReadFile(filepath.Join(shared, "project", "design", "architecture.md")); err != nil || string(b) != "# arch\n" {
		t.Errorf("nested doc: %q %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(out, "secrets.yml")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secrets.yml: %v %v", st, err)
	}
	if after := treeState(t, dir, home); after != before {
		t.Errorf("the install changed:\n%s\nbefore:\n%s", after, before)
	}

	// The daemon starts on the target (taking its lock) and lists them.
	st, err := store.Open(context.Background(), store.Config{Engine: store.PostgreSQL, DSN: dsn})
	if err != nil {
		t.Fatalf("daemon open: %v", err)
	}
	ss, err := st.ListSessions(context.Background(), store.SessionFilter{})
	st.Close()
	if err != nil || len(ss) != 6 {
		t.Errorf("daemon lists %d sessions, %v; want 6", len(ss), err)
	}

	// Again, into the filled target: refused, nothing changed.
	_, err = installT(t, dir, home, dsn, filepath.Join(t.TempDir(), "out2"), filepath.Join(t.TempDir(), "shared2"), false)
	if !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("second run: %v; want ErrTargetNotEmpty", err)
	}
	if after := treeState(t, dir, home); after != before {
		t.Error("the install changed after a refused run")
	}
}

// TestFromInstallBadInput: each defect is refused before anything is
// committed or written, and the install is left as it was.
func TestFromInstallBadInput(t *testing.T) {
	dsn := pgtest.DSN(t)
	cases := []struct {
		name string
		edit func(t *testing.T, dir, home, out, shared string)
		want string
	}{
		{"no database", func(t *testing.T, dir, _, _, _ string) { os.Remove(filepath.Join(dir, "teleclaude.db")) }, "no teleclaude.db"},
		{"no config", func(t *testing.T, dir, _, _, _ string) { os.Remove(filepath.Join(dir, "config.yml")) }, "no config.yml"},
		{"config upstream rejects", func(t *testing.T, dir, _, _, _ string) {
			os.WriteFile(filepath.Join(dir, "config.yml"), []byte("computer:\n  role: x\n"), 0o644)
		}, "computer.name is required"},
		{"two people, one account", func(t *testing.T, _, home, _, _ string) {
			os.WriteFile(filepath.Join(home, ".teleclaude", "teleclaude.yml"), []byte("people:\n  - {name: A, email: a@x, username: root}\n  - {name: B, email: b@x, username: root}\n"), 0o644)
		}, "both name OS user root"},
		{"doc already there, different", func(t *testing.T, _, _, _, shared string) {
			os.MkdirAll(filepath.Join(shared, "global"), 0o755)
			os.WriteFile(filepath.Join(shared, "global", "baseline.md"), []byte("mine\n"), 0o644)
		}, "global/baseline.md"},
		{"output exists", func(t *testing.T, _, _, out, _ string) {
			os.MkdirAll(out, 0o755)
			os.WriteFile(filepath.Join(out, "config.yml"), []byte("x"), 0o644)
		}, "refusing to overwrite"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, home := makeInstall(t)
			out, shared := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "shared")
			tc.edit(t, dir, home, out, shared)
			before := treeState(t, dir, home)
			_, err := installT(t, dir, home, dsn, out, shared, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want %q", err, tc.want)
			}
			if n := targetCounts(t, dsn)["sessions"]; n != 0 {
				t.Errorf("%d sessions committed", n)
			}
			if after := treeState(t, dir, home); after != before {
				t.Error("the install changed")
			}
		})
	}
}
