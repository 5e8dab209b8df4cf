package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// Schema is what Inspect found.
type Schema struct {
	Exists  bool  // false: a SQLite file not created yet
	Current int64 // newest migration applied; 0 for none
	Latest  int64 // newest migration this program knows
}

// Inspect reads the schema version and changes nothing: no instance lock,
// no migration, SQLite opened read-only and never created. It lets a tool
// (doctor) look at the database while the daemon runs. Run it as the
// daemon's user: what SQLite may still create beside the file (its -shm)
// must belong to the daemon.
func Inspect(ctx context.Context, cfg Config) (Schema, error) {
	var (
		db     *sql.DB
		exists = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'"
	)
	switch cfg.Engine {
	case SQLite:
		if _, err := os.Stat(cfg.Path); errors.Is(err, fs.ErrNotExist) {
			s := Schema{}
			s.Latest, err = LatestVersion(cfg.Engine)
			return s, err
		} else if err != nil {
			return Schema{}, fmt.Errorf("sqlite %s: %w", cfg.Path, err)
		}
		dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: cfg.Path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}).String()
		var err error
		if db, err = sql.Open("sqlite3", dsn); err != nil {
			return Schema{}, fmt.Errorf("sqlite %s: %w", cfg.Path, err)
		}
	case PostgreSQL:
		pc, err := pgx.ParseConfig(cfg.DSN)
		if err != nil {
			return Schema{}, fmt.Errorf("postgresql: bad DSN: %w", err)
		}
		if pc.ConnectTimeout == 0 {
			pc.ConnectTimeout = 5 * time.Second
		}
		db = stdlib.OpenDB(*pc)
		exists = "SELECT count(*) FROM pg_tables WHERE tablename = 'goose_db_version' AND schemaname = current_schema()"
	default:
		return Schema{}, fmt.Errorf("unknown engine %q", cfg.Engine)
	}
	defer db.Close()
	s := Schema{Exists: true}
	var err error
	if s.Latest, err = LatestVersion(cfg.Engine); err != nil {
		return s, err
	}
	var n int
	if err := db.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return s, err
	}
	if n == 0 {
		return s, nil
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version_id) FROM goose_db_version WHERE is_applied").Scan(&v); err != nil {
		return s, err
	}
	s.Current = v.Int64
	return s, nil
}

// LatestVersion is the newest embedded migration of engine: the schema this
// program brings a database to.
func LatestVersion(engine Engine) (int64, error) {
	_, sub, err := migrationsOf(engine)
	if err != nil {
		return 0, err
	}
	files, err := fs.Glob(sub, "*.sql")
	if err != nil {
		return 0, err
	}
	var v int64
	for _, f := range files {
		n, err := goose.NumericComponent(f)
		if err != nil {
			return 0, fmt.Errorf("embedded migration %s: %w", f, err)
		}
		v = max(v, n)
	}
	return v, nil
}
