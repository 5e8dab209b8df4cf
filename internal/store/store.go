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
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/ncruces/go-sqlite3"
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
	Path   string // SQLite file, absolute
	DSN    string // PostgreSQL URL or keyword/value string, password included if any
}

// ErrNotFound is returned (wrapped, of kind errdefs.NotFound) by the
// methods that read or change one session when it does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is matched by errors.Is on the *LockedError that Open returns
// when another daemon holds the database.
var ErrLocked = errors.New("database is locked by another daemon")

// LockedError says that another daemon holds the database, and who.
type LockedError struct{ Holder string }

func (e *LockedError) Error() string {
	return "database is in use by another daemon: " + e.Holder
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

var _ error = (*LockedError)(nil)

type options struct {
	holder string
	noLock bool
}

// Option adjusts Open.
type Option func(*options)

// WithHolder describes this process for the lock, so that a second daemon
// can say who holds the database. On PostgreSQL it is also the connections'
// application_name, which is how the second daemon finds it.
func WithHolder(desc string) Option { return func(o *options) { o.holder = desc } }

// WithoutLock opens without the instance lock, for tools that only read and
// for tests. Open still applies pending migrations.
func WithoutLock() Option { return func(o *options) { o.noLock = true } }

//go:embed migrations
var migrations embed.FS

// Store is an open database. Its methods are safe for concurrent use.
type Store struct {
	db     *sql.DB
	engine Engine
	where  string // the database, for error messages; never a password

	// lockConn holds the PostgreSQL advisory lock; Ping checks it, because
	// a daemon whose lock connection died no longer owns the database.
	lockConn  *sql.Conn
	unlock    func() error
	closeOnce sync.Once
	closeErr  error
	goose     *goose.Provider
}

// Open validates cfg, opens the database, takes the instance lock (unless
// WithoutLock) and applies the embedded migrations. A database held by
// another daemon gives a *LockedError (errors.Is(err, ErrLocked)).
func Open(ctx context.Context, cfg Config, opts ...Option) (*Store, error) {
	o := options{holder: defaultHolder()}
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
	case "":
		return nil, errors.New("open database: no engine given (want sqlite or postgresql)")
	default:
		return nil, fmt.Errorf("open database: unknown engine %q (want sqlite or postgresql)", cfg.Engine)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", s.where, err)
	}
	return s, nil
}

func defaultHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s pid %d on %s", filepath.Base(os.Args[0]), os.Getpid(), host)
}

const sqliteMagic = "SQLite format 3\x00"

func openSQLite(ctx context.Context, path string, o options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: no database path given")
	}
	// A relative path would make the daemon's working directory part of
	// where its data lives.
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("open sqlite %s: path must be absolute", path)
	}
	fail := func(err error) error { return fmt.Errorf("open sqlite %s: %w", path, err) }
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fail(fmt.Errorf("directory %s does not exist", dir))
	case err != nil:
		return nil, fail(err)
	case !st.IsDir():
		return nil, fail(fmt.Errorf("%s is not a directory", dir))
	}
	if err := checkSQLiteHeader(path); err != nil {
		return nil, fail(err)
	}
	s := &Store{engine: SQLite, where: "sqlite " + path, unlock: func() error { return nil }}
	if !o.noLock {
		unlock, err := lockFile(path+".lock", o.holder)
		if err != nil {
			return nil, fail(err)
		}
		s.unlock = unlock
	}
	// The pragmas are in the DSN so that every pooled connection gets them;
	// busy_timeout comes first so that the others wait for a busy database
	// instead of failing. WAL with synchronous=FULL: an acknowledged write
	// survives a killed daemon and a power cut. _txlock=immediate takes the
	// write lock at BEGIN, where busy_timeout applies; a deferred transaction
	// that reads and then writes fails at once with "database is locked" when
	// another connection wrote in between.
	q := "_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=synchronous(full)&_pragma=foreign_keys(on)&_txlock=immediate"
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q}).String()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		s.unlock()
		return nil, fail(err)
	}
	s.db = db
	if err := db.PingContext(ctx); err != nil {
		s.Close()
		if errors.Is(err, sqlite3.NOTADB) {
			err = fmt.Errorf("the file is damaged, encrypted or not a SQLite database (it was left untouched): %w", err)
		}
		return nil, fail(err)
	}
	return s, nil
}

// checkSQLiteHeader refuses a file that is not a SQLite database before
// SQLite sees it: SQLite would create a -wal and -shm beside it, and the
// file must be left exactly as it was. A missing or empty file is a new
// database.
func checkSQLiteHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return err
	} else if st.IsDir() {
		return errors.New("it is a directory, not a database file")
	}
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if n == 0 && errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	if !bytes.Equal(head[:n], []byte(sqliteMagic)) {
		// The content is not shown: the path might name a secrets file.
		return errors.New("the file exists and is not a SQLite database (it was left untouched; check database.path)")
	}
	return nil
}

func openPostgres(ctx context.Context, dsn string, o options) (*Store, error) {
	// An empty DSN would mean libpq's defaults from the environment, never
	// what a config asked for.
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("open postgresql: no DSN given")
	}
	pc, err := pgx.ParseConfig(dsn) // its errors redact the password
	if err != nil {
		return nil, fmt.Errorf("open postgresql: bad DSN: %w", err)
	}
	if pc.ConnectTimeout == 0 {
		// A server that does not answer must fail the start, not hang it.
		pc.ConnectTimeout = 5 * time.Second
	}
	pc.RuntimeParams["application_name"] = truncate(o.holder, 63) // NAMEDATALEN-1
	s := &Store{engine: PostgreSQL, where: "postgresql " + describePG(pc), unlock: func() error { return nil }}
	fail := func(err error) error { return fmt.Errorf("open %s: %w", s.where, err) }
	s.db = stdlib.OpenDB(*pc)
	// The timeout covers every host of a multi-host DSN together.
	pctx, cancel := context.WithTimeout(ctx, pc.ConnectTimeout+time.Second)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		s.db.Close()
		return nil, fail(err)
	}
	if !o.noLock {
		conn, err := lockAdvisory(ctx, s.db)
		if err != nil {
			s.db.Close()
			return nil, fail(err)
		}
		s.lockConn = conn
		s.unlock = func() error { return unlockAdvisory(conn) }
	}
	return s, nil
}

// describePG names a PostgreSQL target without its password.
func describePG(pc *pgx.ConnConfig) string {
	if strings.HasPrefix(pc.Host, "/") {
		return fmt.Sprintf("database %s as %s on socket %s", pc.Database, pc.User, pc.Host)
	}
	return fmt.Sprintf("database %s as %s at %s", pc.Database, pc.User, hostPort(pc.Host, pc.Port))
}

func hostPort(host string, port uint16) string { return host + ":" + strconv.Itoa(int(port)) }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// migrationsOf is engine's dialect and embedded migrations.
func migrationsOf(engine Engine) (goose.Dialect, fs.FS, error) {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	if engine == PostgreSQL {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return "", nil, fmt.Errorf("embedded migrations: %w", err)
	}
	return dialect, sub, nil
}

func (s *Store) migrate(ctx context.Context) error {
	dialect, sub, err := migrationsOf(s.engine)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("embedded migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	// goose leaves a database from a newer release alone; old code writing
	// to a schema it does not know could lose data, so refuse.
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > known {
		return fmt.Errorf("schema version %d is newer than this program knows (%d): run the newer teleclaude, or restore a backup", current, known)
	}
	s.goose = p
	return nil
}

// Close releases the lock and closes the database. Calling it again
// returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.engine == PostgreSQL {
			// Unlock on the pinned connection before the pool goes away.
			errs = append(errs, s.unlock())
		}
		if s.db != nil {
			errs = append(errs, s.db.Close())
		}
		if s.engine == SQLite {
			// Only once the database is closed may the next daemon have it.
			errs = append(errs, s.unlock())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Engine reports which engine is in use.
func (s *Store) Engine() Engine { return s.engine }

// Ping checks that the database answers and, on PostgreSQL, that the
// connection holding the instance lock is still alive: if it died, the lock
// is gone and another daemon may take the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.where, err)
	}
	if s.lockConn != nil {
		if err := s.lockConn.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s: the connection holding the instance lock is gone: %w", s.where, err)
		}
	}
	return nil
}

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
// once. Queries here never contain a literal '?' (nor jsonb's ? operators).
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
