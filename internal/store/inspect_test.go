package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestInspect reads the version before and after migration, and while the
// database is open with its lock held, as doctor does beside a daemon.
func TestInspect(t *testing.T) {
	_, want := latestMigration(t, "sqlite")
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s, err := Inspect(ctx, cfg)
		if err != nil || s.Current != 0 || s.Latest != want || s.Exists != (cfg.Engine == PostgreSQL) {
			t.Errorf("before Open: %+v, %v; want nothing applied, latest %d", s, err, want)
		}
		if cfg.Engine == SQLite {
			if _, err := os.Stat(cfg.Path); !os.IsNotExist(err) {
				t.Errorf("Inspect created the SQLite file (%v)", err)
			}
		}
		first, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		s, err = Inspect(ctx, cfg)
		if err != nil || !s.Exists || s.Current != want {
			t.Errorf("after a daemon stopped: %+v, %v; want version %d", s, err, want)
		}
		open(t, cfg)
		s, err = Inspect(ctx, cfg)
		if err != nil || !s.Exists || s.Current != want || s.Latest != want {
			t.Errorf("beside an open store: %+v, %v; want version %d", s, err, want)
		}
	})
}

func TestInspectNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	os.WriteFile(path, []byte("not a database, just text that is long enough to fill a header"), 0o600)
	if _, err := Inspect(context.Background(), Config{Engine: SQLite, Path: path}); err == nil {
		t.Error("Inspect of a text file succeeded")
	}
}
