package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"

	"github.com/pressly/goose/v3"
)

// What tools other than the daemon (teleclaude migrate) and their tests need
// from the store: the instance lock of a SQLite file without opening it, and
// the embedded schema versions.

// LockSQLite takes the instance lock that a daemon takes on the SQLite
// database at path (an flock on path+".lock"), without opening the
// database. It gives a *LockedError when a daemon holds it. The returned
// function releases the lock.
func LockSQLite(path, holder string) (func() error, error) {
	return lockFile(path+".lock", holder)
}

// MigrateSQLiteTo creates or upgrades the SQLite database at path to schema
// version exactly, and no further: for tests that need a database written
// by an older release.
func MigrateSQLiteTo(ctx context.Context, path string, version int64) error {
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path}).String()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	sub, err := fs.Sub(migrations, "migrations/sqlite")
	if err != nil {
		return fmt.Errorf("embedded migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("embedded migrations: %w", err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate %s to version %d: %w", path, version, err)
	}
	return db.Close()
}
