// Package migratetest builds, for tests and the benchmark, SQLite
// databases with the upstream Python TeleClaude's real schema: the schema
// its own code makes at three points of its history (testdata/upstream/
// README.md says how they were dumped), in WAL mode, with its FTS5 tables
// and triggers working as they do under Python.
package migratetest

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/ext/fts5"
)

//go:embed testdata/upstream/*.sql
var schemas embed.FS

// The schema files: upstream's HEAD (FTS5, WAL), one from 2026-02 after
// the memory tables arrived, and one from 2026-01 before them.
const (
	Head    = "schema-451f0fb.sql"
	Feb2026 = "schema-81bae69.sql"
	Jan2026 = "schema-dd6c463.sql"
)

// Schema is the DDL of one schema file, without the table SQLite makes
// itself (sqlite_sequence).
func Schema(file string) (string, error) {
	b, err := schemas.ReadFile("testdata/upstream/" + file)
	if err != nil {
		return "", err
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "CREATE TABLE sqlite_sequence") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n"), nil
}

// Open opens (creating) a database as upstream's Python code does: with
// FTS5, so that its triggers fill the search indexes.
func Open(path string) (*sqlite3.Conn, error) {
	c, err := sqlite3.Open(path)
	if err != nil {
		return nil, err
	}
	if err := fts5.Register(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Build makes dir/teleclaude.db: it runs sql (the schema and any rows),
// then fill if not nil, and closes the database. With leaveWAL the rows
// stay in the -wal, as a running Python daemon or a crash leaves them:
// the returned path is then a snapshot of the database and its -wal taken
// while the writer still had them open, in a directory of its own.
func Build(dir, sql string, leaveWAL bool, fill func(*sqlite3.Conn) error) (string, error) {
	p := filepath.Join(dir, "teleclaude.db")
	c, err := Open(p)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if leaveWAL {
		sql = "PRAGMA wal_autocheckpoint = 0;" + sql
	}
	if err := c.Exec(sql); err != nil {
		return "", fmt.Errorf("build %s: %w", p, err)
	}
	if fill != nil {
		if err := fill(c); err != nil {
			return "", err
		}
	}
	if !leaveWAL {
		return p, c.Close()
	}
	snapDir := filepath.Join(dir, "wal-snapshot")
	if err := os.Mkdir(snapDir, 0o700); err != nil {
		return "", err
	}
	snap := filepath.Join(snapDir, "teleclaude.db")
	for _, sfx := range []string{"", "-wal"} {
		b, err := os.ReadFile(p + sfx)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(snap+sfx, b, 0o600); err != nil {
			return "", err
		}
	}
	return snap, nil
}

// MustSchema is Schema for a test.
func MustSchema(t testing.TB, file string) string {
	t.Helper()
	s, err := Schema(file)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// MustBuild is Build for a test, in a new temporary directory.
func MustBuild(t testing.TB, sql string, leaveWAL bool, fill func(*sqlite3.Conn) error) string {
	t.Helper()
	p, err := Build(t.TempDir(), sql, leaveWAL, fill)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// MustWriteFiles writes each file (path to content) with mode 0644, making
// its directories: an upstream checkout and home are laid out this way.
func MustWriteFiles(t testing.TB, files map[string]string) {
	t.Helper()
	for p, s := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
