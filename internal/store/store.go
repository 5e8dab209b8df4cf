// Package store keeps sessions, transcripts and the audit log in SQLite or
// PostgreSQL behind one logical schema.
//
// Migrations are embedded and applied at Open, one folder per dialect. Open
// also takes the instance lock: one daemon per database.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3"
	"github.com/pressly/goose/v3"
)

// Engine names a database engine as the config spells it.
type Engine string

const (
	SQLite     Engine = "sqlite"
	PostgreSQL Engine = "postgresql"
)

// Config says which database to open.
type Config struct {
	Engine Engine
	Path   string // SQLite file
	DSN    string // PostgreSQL URL or keyword/value string, password included if any
}

// ErrNotFound is returned (wrapped) when a row asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is matched by errors.Is on a LockedError.
var ErrLocked = errors.New("database is locked by another daemon")

// LockedError says that another daemon holds the database, and who.
type LockedError struct{ Holder string }

func (e *LockedError) Error() string {
	return "database is in use by another daemon: " + e.Holder
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

type options struct {
	holder string
	noLock bool
}

// Option adjusts Open.
type Option func(*options)

// WithHolder describes this process for the lock, so that a second daemon
// can say who holds the database.
func WithHolder(desc string) Option { return func(o *options) { o.holder = desc } }

// WithoutLock opens without the instance lock, for tools that only read.
func WithoutLock() Option { return func(o *options) { o.noLock = true } }

//go:embed migrations
var migrations embed.FS

// Store is an open database.
type Store struct {
	db     *sql.DB
	engine Engine
	unlock func()
	goose  *goose.Provider
}

// Open opens the database, takes the instance lock and migrates the schema.
func Open(ctx context.Context, cfg Config, opts ...Option) (*Store, error) {
	o := options{holder: fmt.Sprintf("pid %d", os.Getpid())}
	for _, f := range opts {
		f(&o)
	}
	var (
		s   *Store
		err error
	)
	switch cfg.Engine {
	case SQLite:
		s, err = openSQLite(ctx, cfg.Path, o)
	case PostgreSQL:
		s, err = openPostgres(ctx, cfg.DSN, o)
	default:
		return nil, fmt.Errorf("unknown database engine %q (want sqlite or postgresql)", cfg.Engine)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

const sqliteMagic = "SQLite format 3\x00"

func openSQLite(ctx context.Context, path string, o options) (*Store, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("open sqlite %q: path must be absolute", path)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open sqlite %s: directory: %w", path, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("open sqlite %s: %s is not a directory", path, filepath.Dir(path))
	}
	// Look at the header before SQLite does: a file that is not a database
	// must be refused without a byte of it (or a -wal beside it) changing.
	if f, err := os.Open(path); err == nil {
		head := make([]byte, len(sqliteMagic))
		n, _ := io.ReadFull(f, head)
		f.Close()
		if n > 0 && !bytes.Equal(head[:n], []byte(sqliteMagic)) || n > 0 && n < len(sqliteMagic) {
			return nil, fmt.Errorf("open sqlite %s: not a SQLite database (the file was left untouched)", path)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s := &Store{engine: SQLite, unlock: func() {}}
	if !o.noLock {
		unlock, err := lockFile(path+".lock", o.holder)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		s.unlock = unlock
	}
	// WAL with synchronous=FULL: an acknowledged write survives a killed
	// daemon and a power cut. The pragmas are in the DSN so that every
	// pooled connection gets them.
	q := "_pragma=journal_mode(wal)&_pragma=synchronous(full)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(on)"
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q}).String()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		s.unlock()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.db = db
	if err := db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string, o options) (*Store, error) {
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgresql: bad DSN: %w", err)
	}
	if pc.ConnectTimeout == 0 {
		// A database that does not answer must fail the start, not hang it.
		pc.ConnectTimeout = 5 * time.Second
	}
	app := o.holder
	if len(app) > 63 {
		app = app[:63]
	}
	pc.RuntimeParams["application_name"] = app
	where := describePG(pc)
	db := stdlib.OpenDB(*pc)
	s := &Store{db: db, engine: PostgreSQL, unlock: func() {}}
	pctx, cancel := context.WithTimeout(ctx, pc.ConnectTimeout+time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgresql %s: %w", where, err)
	}
	if !o.noLock {
		unlock, err := lockAdvisory(ctx, db)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open postgresql %s: %w", where, err)
		}
		s.unlock = unlock
	}
	return s, nil
}

// describePG names a PostgreSQL target without its password.
func describePG(pc *pgx.ConnConfig) string {
	host := pc.Host
	if strings.HasPrefix(host, "/") {
		return fmt.Sprintf("database %s as %s on socket %s", pc.Database, pc.User, host)
	}
	return fmt.Sprintf("database %s as %s at %s", pc.Database, pc.User, hostPort(host, pc.Port))
}

func hostPort(host string, port uint16) string { return host + ":" + strconv.Itoa(int(port)) }

func (s *Store) migrate(ctx context.Context) error {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	if s.engine == PostgreSQL {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	s.goose = p
	return nil
}

// Close releases the lock and closes the database.
func (s *Store) Close() error {
	var err error
	if s.db != nil {
		err = s.db.Close()
	}
	s.unlock()
	return err
}

// Engine reports which engine is in use.
func (s *Store) Engine() Engine { return s.engine }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// SchemaVersion is the newest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	v, err := s.goose.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// DB exposes the handle for tools (migrate) and tests.
func (s *Store) DB() *sql.DB { return s.db }

// q rewrites ? placeholders to $n for PostgreSQL, so each query is written
// once. Queries here never contain a literal '?'.
func (s *Store) q(query string) string {
	if s.engine != PostgreSQL {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
