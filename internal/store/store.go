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
	"sync/atomic"
	"time"

	"github.com/instruktai/teleclaude/internal/errdefs"
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
	holder    string
	noLock    bool
	lockEvery time.Duration
}

// Option adjusts Open.
type Option func(*options)

// WithHolder describes this process for the lock, so that a second daemon
// can say who holds the database. On PostgreSQL it is also the connections'
// application_name, which is how the second daemon finds it.
func WithHolder(desc string) Option { return func(o *options) { o.holder = desc } }

// WithLockCheck sets how often the PostgreSQL instance lock is checked and,
// when lost, taken again (default: every second); zero or less leaves it
// to Ping, for tests that look at it step by step.
func WithLockCheck(every time.Duration) Option { return func(o *options) { o.lockEvery = every } }

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
	path   string // SQLite: the file

	// keeper holds the PostgreSQL advisory lock, taking it again when its
	// connection dies; while it is not held, writes are refused.
	keeper *lockKeeper
	// wgate makes this process's SQLite writers take turns in the order
	// they came: left to SQLite's busy handler, which polls, a writer
	// could lose every race for the write lock until busy_timeout ran
	// out, and fail with "database is locked" under load.
	wgate     chan struct{}
	unlock    func() error
	closeOnce sync.Once
	closeErr  error
	goose     *goose.Provider
	quotas    atomic.Pointer[Quotas]
}

// Open validates cfg, opens the database, takes the instance lock (unless
// WithoutLock) and applies the embedded migrations. A database held by
// another daemon gives a *LockedError (errors.Is(err, ErrLocked)).
func Open(ctx context.Context, cfg Config, opts ...Option) (*Store, error) {
	o := options{holder: defaultHolder(), lockEvery: lockCheckEvery}
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
	// Before the lock file, the WAL pragma and goose: a database that is
	// refused keeps every byte, and gets no file beside it.
	if err := refuseForeign(path); err != nil {
		return nil, fail(err)
	}
	s := &Store{engine: SQLite, where: "sqlite " + path, path: path, unlock: func() error { return nil }, wgate: make(chan struct{}, 1)}
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
	if err := quickCheck(ctx, db, path); err != nil {
		s.Close()
		return nil, fail(err)
	}
	return s, nil
}

// quickCheck refuses a damaged database before anything writes to it: a
// daemon on one would fail every session request, and its writes could
// spread the damage. quick_check reads every page, skipping only the
// index-content cross-checks, so it takes a moment on a large file.
func quickCheck(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err == nil {
		defer rows.Close()
		var found []string
		for rows.Next() {
			var line string
			if err = rows.Scan(&line); err != nil {
				break
			}
			if line != "ok" {
				found = append(found, line)
			}
		}
		if err == nil {
			err = rows.Err()
		}
		if err == nil && len(found) > 0 {
			err = errors.New(strings.Join(found, "; "))
		}
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, sqlite3.NOTADB) {
		return fmt.Errorf("the file is damaged, encrypted or not a SQLite database (it was left untouched): %w", err)
	}
	return damaged(path, "PRAGMA quick_check: "+err.Error())
}

// damaged refuses a damaged database with the way to recover it.
func damaged(path, found string) error {
	return fmt.Errorf("the database is damaged (%s). The daemon will not use it. Keep a copy of it (with any -wal file), then recover what it holds: sqlite3 %s .recover | sqlite3 %s.recovered, check the result, and move it into place; or restore a backup", found, path, path)
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
	// Requests beyond this wait for a connection instead of each opening
	// one: fifty starts at once would otherwise open fifty backends, each
	// slow to connect on a busy machine, against a server whose
	// connections are shared with everyone else's programs.
	s.db.SetMaxOpenConns(maxPGConns)
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
		s.keeper = newLockKeeper(s.db, conn, o.lockEvery)
		s.unlock = s.keeper.close
	}
	return s, nil
}

// maxPGConns bounds the daemon's connections to PostgreSQL, the instance
// lock's included.
const maxPGConns = 16

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

// Ping checks that the database answers and, on PostgreSQL, that this
// daemon still holds the instance lock: if its connection died, the lock is
// taken again here, and if another daemon has it, this one is unhealthy for
// good.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.where, err)
	}
	if s.keeper != nil {
		if err := s.keeper.check(ctx); err != nil {
			return fmt.Errorf("ping %s: %w", s.where, err)
		}
	}
	return nil
}

// beginWrite waits for this process's turn to write (SQLite) and checks
// that it may write at all; call the release function when done.
func (s *Store) beginWrite(ctx context.Context) (release func(), err error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	if s.wgate == nil {
		return func() {}, nil
	}
	select {
	case s.wgate <- struct{}{}:
		return func() { <-s.wgate }, nil
	case <-ctx.Done():
		return nil, &errdefs.Error{Kind: errdefs.Unavailable, Msg: "the database was busy with other writes for longer than this request could wait: try again shortly",
			Err: fmt.Errorf("waiting for the turn to write to %s: %w", s.where, ctx.Err())}
	}
}

// minFree is the least free space the SQLite database's file system may
// have for the daemon to call itself healthy: below it, the next writes
// (a transcript, an audit record) fail.
const minFree = 8 << 20

// Healthy is Ping plus what a write needs: on PostgreSQL the instance lock
// (Ping), on SQLite room on its disk and the write lock, taken and
// released with nothing written.
func (s *Store) Healthy(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if err := s.writable(); err != nil {
		return err
	}
	if s.engine != SQLite {
		return nil
	}
	if free, err := freeSpace(filepath.Dir(s.path)); err == nil && free < minFree {
		return errdefs.Unavailablef("the disk holding the database %s is full (%d KiB free): writes fail until an admin frees space there", s.path, free>>10)
	}
	release, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		return fmt.Errorf("%s: cannot take the write lock: %w", s.where, err)
	}
	return tx.Rollback()
}

// writable is nil when this daemon may write: always on SQLite (the file
// lock lives as long as the process), on PostgreSQL while it holds the
// instance lock.
func (s *Store) writable() error {
	if s.keeper == nil {
		return nil
	}
	return s.keeper.writable()
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
