package migrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/store"
)

// Kind says what wrote the source database.
type Kind string

const (
	KindOurs     Kind = "teleclaude"
	KindUpstream Kind = "upstream" // the Python TeleClaude's schema.sql
)

const sqliteMagic = "SQLite format 3\x00"

// sidecars are the files next to a SQLite database that are part of its
// content: an un-checkpointed write-ahead log, or a hot rollback journal.
var sidecars = []string{"-wal", "-journal"}

// source is the database being migrated, opened for reading.
type source struct {
	path    string // the original file
	conn    *sqlite3.Conn
	kind    Kind
	version int64     // ours: schema version as found; upstream: 0
	tables  []string  // ordinary tables
	derived []Skipped // virtual tables and their shadow tables, never read

	unlock  func() error
	workDir string // the private copy's directory, if one was made

	before chan hashResult // the original's hash, taken when we started
	after  chan hashResult // taken once every row is read (startAfterHash)
	hash   string
}

type hashResult struct {
	sum string
	err error
}

// openSource checks the file, takes the daemon's lock, makes sure no other
// process is writing it, starts hashing it, and opens it read-only (or a
// private copy when it must be upgraded or recovered first).
func openSource(ctx context.Context, o Options, rep *Report) (_ *source, err error) {
	s := &source{path: o.From, unlock: func() error { return nil }}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := checkHeader(s.path); err != nil {
		return nil, fmt.Errorf("source %s: %w", s.path, err)
	}
	unlock, created, err := lockSource(s.path, o.Holder)
	if err != nil {
		return nil, err
	}
	s.unlock = unlock
	_ = created
	if who, err := sqliteLockHolder(s.path); err != nil {
		return nil, fmt.Errorf("source %s: check for other users: %w", s.path, err)
	} else if who != "" {
		return nil, fmt.Errorf("%w: %s (%s); stop it, then run migrate again", ErrSourceInUse, s.path, who)
	}

	s.before = make(chan hashResult, 1)
	go func() {
		sum, err := hashFiles(s.path)
		s.before <- hashResult{sum, err}
	}()

	// A journal to replay means the file alone is not the database: read
	// a private copy, on which SQLite replays it.
	needCopy := ""
	for _, sc := range sidecars {
		if st, err := os.Stat(s.path + sc); err == nil && st.Size() > 0 {
			needCopy = "it has a " + strings.TrimPrefix(sc, "-") + " file to replay"
		}
	}
	if needCopy == "" {
		if err := s.open(ctx, s.path, true); err != nil {
			return nil, err
		}
		if err := s.inspect(); err != nil {
			return nil, err
		}
		if s.kind == KindOurs && s.version < latestVersion() {
			needCopy = fmt.Sprintf("its schema is version %d and must first be brought to %d", s.version, latestVersion())
		}
	}
	if needCopy != "" {
		if s.conn != nil {
			s.conn.Close()
			s.conn = nil
		}
		rep.Notes = append(rep.Notes, "read a private copy of the source because "+needCopy+"; the original was not written")
		readPath, err := s.copyToWorkDir(ctx, o.WorkDir)
		if err != nil {
			return nil, err
		}
		if err := s.open(ctx, readPath, false); err != nil {
			return nil, err
		}
		if err := s.inspect(); err != nil {
			return nil, err
		}
		if s.kind == KindOurs && s.version < latestVersion() {
			s.conn.Close()
			s.conn = nil
			if err := upgradeCopy(ctx, readPath); err != nil {
				return nil, err
			}
			if err := s.open(ctx, readPath, false); err != nil {
				return nil, err
			}
			from := s.version
			if err := s.inspect(); err != nil {
				return nil, err
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("upgraded the copy's schema from version %d to %d", from, s.version))
		}
	}
	if s.kind == KindOurs && s.version > latestVersion() {
		return nil, fmt.Errorf("source %s: schema version %d is newer than this teleclaude knows (%d): migrate with the newer teleclaude", s.path, s.version, latestVersion())
	}
	rep.SourceKind = s.describe()
	rep.Skipped = s.derived
	return s, nil
}

func latestVersion() int64 {
	v, err := store.LatestVersion(store.SQLite) // both dialects are in step (TestMigrationsInStep)
	if err != nil {
		panic(err) // the embedded migrations are part of the binary
	}
	return v
}

func (s *source) describe() string {
	if s.kind == KindUpstream {
		return "upstream TeleClaude (Python schema)"
	}
	return fmt.Sprintf("TeleClaude schema version %d", s.version)
}

// checkHeader refuses anything that is not a SQLite database before SQLite
// sees it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	head := make([]byte, 100)
	n, err := io.ReadFull(f, head)
	if n < len(sqliteMagic) || !bytes.Equal(head[:len(sqliteMagic)], []byte(sqliteMagic)) {
		if n == 0 {
			return errors.New("the file is empty, not a SQLite database")
		}
		return errors.New("not a SQLite database (its header is not \"SQLite format 3\")")
	}
	if err != nil {
		return fmt.Errorf("truncated SQLite header: %w", err)
	}
	return nil
}

// lockSource takes the lock a daemon takes on the database, and keeps it
// until the migration ends, so that no daemon starts on the source meanwhile.
func lockSource(path, holder string) (unlock func() error, created bool, err error) {
	lockPath := path + ".lock"
	_, statErr := os.Stat(lockPath)
	unlock, err = store.LockSQLite(path, holder)
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, false, fmt.Errorf("%w: %v; stop the daemon first (systemctl stop teleclaude), then run migrate again", ErrSourceInUse, err)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, errReadOnlyFS):
		return nil, false, fmt.Errorf("source %s: cannot take the daemon's lock %s (run migrate as the database's owner or root): %w", path, lockPath, err)
	case err != nil:
		return nil, false, fmt.Errorf("source %s: %w", path, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// We made the lock file: it goes with us, so that the source's
		// directory is left as it was found. It is removed while still
		// held, so no daemon can take a lock on a file about to vanish.
		inner := unlock
		unlock = func() error {
			rerr := os.Remove(lockPath)
			if errors.Is(rerr, fs.ErrNotExist) {
				rerr = nil
			}
			return errors.Join(rerr, inner())
		}
		created = true
	}
	return unlock, created, nil
}

// hashFiles returns the database file's own SHA-256 (what sha256sum
// prints), followed by a digest of its sidecars, names and presence
// included, so that creating or removing one counts as a change.
func hashFiles(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	main := sha256.New()
	buf := make([]byte, 1<<20)
	_, err = io.CopyBuffer(main, f, buf)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	h := sha256.New()
	for _, suffix := range sidecars {
		f, err := os.Open(path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(h, "%s absent\n", suffix)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", path+suffix, err)
		}
		fmt.Fprintf(h, "%s present\n", suffix)
		_, err = io.CopyBuffer(h, f, buf)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", path+suffix, err)
		}
	}
	return hex.EncodeToString(main.Sum(nil)) + " " + hex.EncodeToString(h.Sum(nil)), nil
}

// open opens path with SQLite: the original immutable and read-only (no
// lock, no -shm or -wal created, nothing written), a private copy
// read-write so that SQLite may replay its journal.
func (s *source) open(ctx context.Context, path string, original bool) error {
	u := url.URL{Scheme: "file", OmitHost: true, Path: path}
	flags := sqlite3.OPEN_URI
	if original {
		u.RawQuery = "mode=ro&immutable=1"
		flags |= sqlite3.OPEN_READONLY
	} else {
		flags |= sqlite3.OPEN_READWRITE
	}
	c, err := sqlite3.OpenFlags(u.String(), flags)
	if err != nil {
		return fmt.Errorf("source %s: open: %w", s.path, explainSQLite(err))
	}
	c.SetInterrupt(ctx)
	s.conn = c
	return nil
}

// explainSQLite turns SQLite's terse errors about damaged files into advice.
func explainSQLite(err error) error {
	switch {
	case errors.Is(err, sqlite3.NOTADB):
		return fmt.Errorf("the file is damaged, encrypted or not a SQLite database: %w", err)
	case errors.Is(err, sqlite3.CORRUPT):
		return fmt.Errorf("the database is damaged (run sqlite3's .recover into a new file and migrate that): %w", err)
	}
	return err
}

// inspect finds out what wrote the database and at which schema version.
func (s *source) inspect() error {
	if err := s.readTables(); err != nil {
		return err
	}
	tables := s.tables
	switch {
	case slices.Contains(tables, "goose_db_version"):
		s.kind = KindOurs
		vs, err := s.strings(`SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`)
		if err != nil || len(vs) != 1 {
			return fmt.Errorf("source %s: read its schema version: %v", s.path, explainSQLite(err))
		}
		if _, err := fmt.Sscan(vs[0], &s.version); err != nil {
			return fmt.Errorf("source %s: schema version %q: %w", s.path, vs[0], err)
		}
	case slices.Contains(tables, "sessions"):
		cols, err := s.columns("sessions")
		if err != nil {
			return err
		}
		if !slices.Contains(cols, "session_id") {
			return fmt.Errorf("source %s: not a TeleClaude database (a sessions table without session_id or schema version)", s.path)
		}
		s.kind = KindUpstream
	case len(tables) == 0:
		return fmt.Errorf("source %s: the database has no tables: nothing to migrate", s.path)
	default:
		return fmt.Errorf("source %s: not a TeleClaude database (tables: %s)", s.path, strings.Join(tables, ", "))
	}
	return nil
}

// shadowSuffixes name the tables in which SQLite's FTS3/4/5 and R*Tree
// modules keep a virtual table's index: "<virtual table>_<suffix>".
var shadowSuffixes = []string{"data", "idx", "content", "docsize", "config", "segments", "segdir", "stat", "node", "parent", "rowid"}

// readTables sorts the schema's tables into ordinary ones, which are data,
// and virtual tables with their shadow tables, which are indexes derived
// from data (upstream's FTS5 search indexes). The derived ones are never
// read: a virtual table needs its module (FTS5) loaded even to be counted,
// and everything in it is rebuilt from the tables it indexes.
func (s *source) readTables() error {
	st, _, err := s.conn.Prepare(`SELECT name, coalesce(sql, '') FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("source %s: read its schema: %w", s.path, explainSQLite(err))
	}
	defer st.Close()
	type tbl struct{ name, sql string }
	var all []tbl
	for st.Step() {
		all = append(all, tbl{st.ColumnText(0), st.ColumnText(1)})
	}
	if err := st.Err(); err != nil {
		return fmt.Errorf("source %s: read its schema: %w", s.path, explainSQLite(err))
	}
	s.tables, s.derived = nil, nil
	virtual := map[string]string{}
	for _, t := range all {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(t.sql)), "CREATE VIRTUAL TABLE") {
			module := "a module"
			if _, rest, ok := strings.Cut(strings.ToUpper(t.sql), " USING "); ok {
				module, _, _ = strings.Cut(strings.TrimSpace(rest), "(")
				module = strings.TrimSpace(module)
			}
			virtual[t.name] = module
		}
	}
	for _, t := range all {
		if m, ok := virtual[t.name]; ok {
			s.derived = append(s.derived, Skipped{Table: t.name, Why: m + " virtual table: a search index derived from other tables; rebuild it from them"})
			continue
		}
		if v, ok := shadowOf(t.name, virtual); ok {
			s.derived = append(s.derived, Skipped{Table: t.name, Why: "shadow table of " + virtual[v] + " virtual table " + v + " (its index storage)"})
			continue
		}
		s.tables = append(s.tables, t.name)
	}
	return nil
}

func shadowOf(name string, virtual map[string]string) (string, bool) {
	for v := range virtual {
		if rest, ok := strings.CutPrefix(name, v+"_"); ok && slices.Contains(shadowSuffixes, rest) {
			return v, true
		}
	}
	return "", false
}

// strings runs a query and returns its first column as text.
func (s *source) strings(query string, args ...any) ([]string, error) {
	st, _, err := s.conn.Prepare(query)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for i, a := range args {
		switch a := a.(type) {
		case string:
			st.BindText(i+1, a)
		default:
			return nil, fmt.Errorf("bind %T", a)
		}
	}
	var out []string
	for st.Step() {
		out = append(out, st.ColumnText(0))
	}
	return out, st.Err()
}

func (s *source) columns(table string) ([]string, error) {
	cols, err := s.strings(`SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, fmt.Errorf("source %s: columns of %s: %w", s.path, table, explainSQLite(err))
	}
	return cols, nil
}

func (s *source) count(table string) (int64, error) {
	st, _, err := s.conn.Prepare(`SELECT count(*) FROM ` + quoteSQLite(table))
	if err != nil {
		return 0, fmt.Errorf("source %s: count %s: %w", s.path, table, explainSQLite(err))
	}
	defer st.Close()
	var n int64
	if st.Step() {
		n = st.ColumnInt64(0)
	}
	if err := st.Err(); err != nil {
		return 0, fmt.Errorf("source %s: count %s: %w", s.path, table, explainSQLite(err))
	}
	return n, nil
}

func quoteSQLite(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// copyToWorkDir copies the database and its sidecars into a new private
// directory and returns the copy's path.
func (s *source) copyToWorkDir(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	wd, err := os.MkdirTemp(dir, "teleclaude-migrate-")
	if err != nil {
		return "", fmt.Errorf("make a work directory for a copy of the source in %s (choose another with --work-dir): %w", dir, err)
	}
	s.workDir = wd
	dst := filepath.Join(wd, "source.db")
	for _, suffix := range append([]string{""}, sidecars...) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		err := fileown.CopyPrivate(s.path+suffix, dst+suffix)
		if errors.Is(err, fs.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("copy the source to %s (the original is never written; give --work-dir on a disk with room for a copy): %w", wd, err)
		}
	}
	return dst, nil
}

// upgradeCopy brings the private copy to the latest schema with the
// daemon's own migrations.
func upgradeCopy(ctx context.Context, path string) error {
	st, err := store.Open(ctx, store.Config{Engine: store.SQLite, Path: path}, store.WithoutLock())
	if err != nil {
		return fmt.Errorf("bring the copy of the source up to date: %w", err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("bring the copy of the source up to date: %w", err)
	}
	return nil
}

// startAfterHash hashes the original again, in the background: once every
// row has been read, a later change could no longer reach the target, so
// the hash runs while PostgreSQL builds the indexes and the copy is read
// back. Calling it again does nothing.
func (s *source) startAfterHash() {
	if s.after != nil {
		return
	}
	s.after = make(chan hashResult, 1)
	go func() {
		sum, err := hashFiles(s.path)
		s.after <- hashResult{sum, err}
	}()
}

// verifyUnchanged compares the original's hash after the copy with the
// one taken before.
func (s *source) verifyUnchanged() error {
	b := <-s.before
	s.before <- b // idempotent
	if b.err != nil {
		return fmt.Errorf("source %s: %w", s.path, b.err)
	}
	s.startAfterHash()
	a := <-s.after
	s.after <- a
	after, err := a.sum, a.err
	if err != nil {
		return fmt.Errorf("source %s: %w", s.path, err)
	}
	if after != b.sum {
		return fmt.Errorf("%w: %s (SHA-256 of the file and its -wal/-journal: %s before, %s after): some other process wrote it; nothing was committed", ErrSourceChanged, s.path, b.sum, after)
	}
	s.hash, _, _ = strings.Cut(after, " ")
	return nil
}

func (s *source) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	if s.workDir != "" {
		os.RemoveAll(s.workDir)
		s.workDir = ""
	}
	if s.after != nil {
		a := <-s.after
		s.after <- a
	}
	if s.before != nil {
		// Let the hashing goroutine finish reading before the lock goes.
		b := <-s.before
		s.before <- b
	}
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}
