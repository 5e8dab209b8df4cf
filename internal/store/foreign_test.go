package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/migrate/migratetest"
)

// dirSums maps every file of dir to its SHA-256.
func dirSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(h[:])
	}
	return out
}

// TestForeignSQLiteRefused: the daemon pointed at the upstream database
// (checkpointed, or with its transactions still in the -wal) or at any
// database with unknown tables and no version table refuses, naming the
// command that moves it, and changes no byte and adds no file.
func TestForeignSQLiteRefused(t *testing.T) {
	mk := func(t *testing.T, stmts string, leaveWAL bool) string {
		return migratetest.MustBuild(t, stmts, leaveWAL, nil)
	}
	rows := `INSERT INTO sessions (session_id, computer_name) VALUES ('s1', 'box');
		INSERT INTO memory_observations (memory_session_id, project, type, title, created_at, created_at_epoch)
		VALUES ('m', 'p', 'note', 'fts row', '2026-02-01T00:00:00', 1);`
	cases := []struct {
		name, sql string
		wal       bool
		want      string
	}{
		{"upstream HEAD", "PRAGMA journal_mode=wal;" + migratetest.MustSchema(t, migratetest.Head) + rows, false, "upstream Python TeleClaude"},
		{"upstream HEAD, rows in the -wal", "PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0;" + migratetest.MustSchema(t, migratetest.Head) + rows, true, "upstream Python TeleClaude"},
		{"unknown tables", "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine');", false, "tables this program does not know (notes)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mk(t, tc.sql, tc.wal)
			before := dirSums(t, filepath.Dir(p))
			if tc.wal && before["teleclaude.db-wal"] == "" {
				t.Fatal("fixture has no -wal")
			}
			s, err := Open(context.Background(), Config{Engine: SQLite, Path: p})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a foreign database")
			}
			if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "teleclaude migrate --from-install") {
				t.Errorf("err = %v; want ErrForeign saying %q and naming teleclaude migrate --from-install", err, tc.want)
			}
			after := dirSums(t, filepath.Dir(p))
			if len(after) != len(before) {
				t.Errorf("files beside the database: %v, before %v", after, before)
			}
			for n, h := range before {
				if after[n] != h {
					t.Errorf("%s changed", n)
				}
			}
		})
	}
}
