package migrate

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/instruktai/teleclaude/internal/store"
)

// badCase runs migrate on a bad input and checks the promise for all of
// them: an error that says what is wrong, the source file untouched, the
// target without a row.
func badCase(t *testing.T, src, dsn string, want string, opts ...func(*Options)) error {
	t.Helper()
	return badCaseOn(t, src, dsn, dsn, want, opts...)
}

// badCaseOn is badCase with the target checked through another DSN.
func badCaseOn(t *testing.T, src, dsn, checkDSN string, want string, opts ...func(*Options)) error {
	t.Helper()
	var sum string
	if _, err := os.Stat(src); err == nil {
		sum = fileSum(t, src)
	}
	_, err := migrateT(t, src, dsn, opts...)
	if err == nil {
		t.Fatalf("migrate succeeded; want an error saying %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error: %v\nwant it to say %q", err, want)
	}
	t.Logf("the error an admin sees: %v", err)
	if sum != "" && fileSum(t, src) != sum {
		t.Error("the source changed")
	}
	assertEmpty(t, checkDSN)
	return err
}

func TestNotSQLite(t *testing.T) {
	src := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(src, []byte("database: {engine: sqlite}\npassword: hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := badCase(t, src, pgtest.DSN(t), "not a SQLite database")
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("the error shows the file's content")
	}
	empty := filepath.Join(t.TempDir(), "empty.db")
	os.WriteFile(empty, nil, 0o600)
	badCase(t, empty, pgtest.DSN(t), "empty")
	badCase(t, filepath.Join(t.TempDir(), "missing.db"), pgtest.DSN(t), "no such file")
}

// TestCorruptPage: the root page of the transcript table is damaged.
func TestCorruptPage(t *testing.T) {
	src, dsn := newPair(t, genOpts{transcripts: 3000})
	db := openSQL(t, src)
	var root, size int64
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = 'transcript_entries'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.OpenFile(src, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 0x42 is no b-tree page type.
	if _, err := f.WriteAt([]byte{0x42, 0x42, 0x42, 0x42}, (root-1)*size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	badCase(t, src, dsn, "damaged")
}

// TestSourceInUse: a daemon holding the database, another process writing
// it, and another process having it open in WAL mode are each refused.
func TestSourceInUse(t *testing.T) {
	t.Run("daemon", func(t *testing.T) {
		src, dsn := newPair(t, genOpts{})
		st, err := store.Open(context.Background(), store.Config{Engine: store.SQLite, Path: src}, store.WithHolder("the daemon under test"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		err = badCase(t, src, dsn, "the daemon under test")
		if !errors.Is(err, ErrSourceInUse) {
			t.Errorf("error %v is not ErrSourceInUse", err)
		}
	})
	t.Run("writer", func(t *testing.T) {
		src, dsn := newPair(t, genOpts{})
		db := openSQL(t, src)
		if _, err := db.Exec(`PRAGMA journal_mode = delete`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db = openSQL(t, src)
		defer db.Close()
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(context.Background(), `ROLLBACK`)
		badCase(t, src, dsn, "another process is writing it")
	})
	t.Run("wal reader", func(t *testing.T) {
		src, dsn := newPair(t, genOpts{})
		db := openSQL(t, src)
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		badCase(t, src, dsn, "open in WAL mode")
	})
}

// TestWrongPassword: the target refuses our password.
func TestWrongPassword(t *testing.T) {
	src, dsn := newPair(t, genOpts{})
	pgExec(t, pgtest.AdminDSN(t), `DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_migrate_pw') THEN
			CREATE ROLE tc_migrate_pw LOGIN PASSWORD 'right' IN ROLE tc_password_auth;
		END IF; END $$`)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("tc_migrate_pw", "wrong-secret")
	err = badCaseOn(t, src, u.String(), dsn, "password authentication failed")
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Error("the error shows the password")
	}
}

// TestTargetWithRows: a target with data is refused and keeps its data.
func TestTargetWithRows(t *testing.T) {
	src, dsn := newPair(t, genOpts{})
	ctx := context.Background()
	st := targetStore(t, dsn)
	if err := st.CreateSession(ctx, &store.Session{ID: "mine", Project: "p", Agent: "a", Status: "running"}); err != nil {
		t.Fatal(err)
	}
	_, err := migrateT(t, src, dsn)
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "sessions has 1 rows") {
		t.Errorf("migrate into a target with a row: %v; want ErrTargetNotEmpty naming it", err)
	}
	if got := targetCounts(t, dsn); got["sessions"] != 1 {
		t.Errorf("target after the refusal: %v; want its one session kept", got)
	}
}

// TestDiskFull: the copy of an old source, made to upgrade its schema,
// fills its disk (a tiny tmpfs mounted for the test).
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("TestDiskFull needs root to mount a tmpfs, and CI runs as root")
		}
		t.Skip("needs root to mount a tmpfs")
	}
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "old.db")
	if err := store.MigrateSQLiteTo(ctx, src, 1); err != nil {
		t.Fatal(err)
	}
	db := openSQL(t, src)
	if _, err := db.Exec(`INSERT INTO sessions (id, project, agent, status, created_at, updated_at) VALUES ('old', 'p', 'a', 'exited', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES ('old', 1, 'out', ?, '2025-01-01T00:00:00.000000Z')`, hugeContent(1<<20)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tc-migrate-full", small).CombinedOutput(); err != nil {
		t.Fatalf("mount a 256 KiB tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", small).Run() })
	badCase(t, src, pgtest.DSN(t), "no space left on device", func(o *Options) { o.WorkDir = small })
	if left, _ := filepath.Glob(filepath.Join(small, "*")); len(left) != 0 {
		t.Errorf("the work directory was not cleaned up: %v", left)
	}
}

// TestDanglingForeignKey: SQLite without foreign_keys=on let a transcript
// entry point at a session that does not exist; PostgreSQL refuses it.
func TestDanglingForeignKey(t *testing.T) {
	src, dsn := newPair(t, genOpts{transcripts: 10})
	db := openSQL(t, src)
	if _, err := db.Exec(`INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES ('ghost', 1, 'out', 'x', '2026-01-01T00:00:00.000000Z')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	badCase(t, src, dsn, "violates foreign key constraint")
}
