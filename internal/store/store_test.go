package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/instruktai/teleclaude/internal/pgtest"
)

// engines runs f on SQLite and on PostgreSQL, each with a fresh database.
func engines(t *testing.T, f func(t *testing.T, cfg Config)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		f(t, Config{Engine: SQLite, Path: filepath.Join(t.TempDir(), "t.db")})
	})
	t.Run("postgresql", func(t *testing.T) {
		f(t, Config{Engine: PostgreSQL, DSN: pgtest.DSN(t)})
	})
}

func open(t *testing.T, cfg Config, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ptr[T any](v T) *T { return &v }

// latestMigration is the version of the newest embedded migration.
func latestMigration(t *testing.T, dialect string) (names []string, version int64) {
	t.Helper()
	files, err := fs.Glob(migrations, "migrations/"+dialect+"/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded %s migrations: %v (%d files)", dialect, err, len(files))
	}
	for _, f := range files {
		names = append(names, path.Base(f))
	}
	return names, int64(len(files))
}

func TestMigrationsInStep(t *testing.T) {
	lite, _ := latestMigration(t, "sqlite")
	pg, _ := latestMigration(t, "postgres")
	if !slices.Equal(lite, pg) {
		t.Errorf("sqlite migrations %v, postgres migrations %v: want the same versions in both dialects", lite, pg)
	}
}

func TestMigrations(t *testing.T) {
	_, want := latestMigration(t, "sqlite")
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		if got, err := s.SchemaVersion(ctx); err != nil || got != want {
			t.Errorf("SchemaVersion = %d, %v; want %d", got, err, want)
		}
		for _, table := range []string{"sessions", "transcript_entries", "audit_log"} {
			var n int
			if err := s.DB().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("table %s: %d rows, %v; want an empty table", table, n, err)
			}
		}
		if got := s.Engine(); got != cfg.Engine {
			t.Errorf("Engine() = %q, want %q", got, cfg.Engine)
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		s.Close()
		// Reopening applies nothing and keeps the version.
		s = open(t, cfg)
		if got, err := s.SchemaVersion(ctx); err != nil || got != want {
			t.Errorf("after reopening, SchemaVersion = %d, %v; want %d", got, err, want)
		}
	})
}

// TestUpgradeFromVersion1: a database made by the first release reaches the
// latest schema at Open, keeping its data.
func TestUpgradeFromVersion1(t *testing.T) {
	_, latest := latestMigration(t, "sqlite")
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
		db, err := sql.Open("sqlite3", "file:"+cfg.Path)
		if cfg.Engine == PostgreSQL {
			dialect, dir = goose.DialectPostgres, "migrations/postgres"
			db, err = sql.Open("pgx", cfg.DSN)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		sub, _ := fs.Sub(migrations, dir)
		p, err := goose.NewProvider(dialect, db, sub, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 1); err != nil {
			t.Fatalf("migrate to version 1: %v", err)
		}
		stmts := []string{
			"INSERT INTO sessions (id, project, agent, status, created_at, updated_at) VALUES ('old', 'p', 'a', 'exited', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO audit_log (actor_uid, actor_pid, action, target_session_id, at) VALUES (1, 1, 'old.read', 'old', '2025-01-01T00:00:00.000000Z')",
		}
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()

		s := open(t, cfg)
		if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
			t.Errorf("SchemaVersion after upgrade = %d, %v; want %d", v, err, latest)
		}
		if recs, err := s.ListAudit(ctx, AuditFilter{SessionID: "old"}); err != nil || len(recs) != 1 || recs[0].Action != "old.read" {
			t.Errorf("audit after upgrade = %+v, %v; want the old record", recs, err)
		}
		if _, err := s.GetSession(ctx, "old"); err != nil {
			t.Errorf("session after upgrade: %v", err)
		}
	})
}

// TestNewerSchemaRefused: a database that a newer release migrated must not
// be written by this one.
func TestNewerSchemaRefused(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		if _, err := s.DB().Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, true)"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err := Open(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") {
			t.Errorf("Open: err = %v, want it to refuse schema version 99", err)
		}
	})
}

func TestInstanceLock(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		const holder = "teleclaude serve pid 1234 on testhost as uid 999"
		first := open(t, cfg, WithHolder(holder))

		_, err := Open(ctx, cfg, WithHolder("second"))
		var le *LockedError
		if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || !strings.Contains(le.Holder, holder) {
			t.Fatalf("second Open: err = %v, want a *LockedError naming %q", err, holder)
		}
		if want := "database is in use by another daemon: " + le.Holder; le.Error() != want {
			t.Errorf("LockedError.Error() = %q, want %q", le.Error(), want)
		}
		t.Logf("second Open: %v", err)

		switch cfg.Engine {
		case SQLite:
			st, err := os.Stat(cfg.Path + ".lock")
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("lock file: %v, %v; want mode 0600", st.Mode(), err)
			}
		case PostgreSQL:
			// The holder is findable by any PostgreSQL tool, too.
			var n int
			err := first.DB().QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", holder).Scan(&n)
			if err != nil || n == 0 {
				t.Errorf("connections with application_name %q: %d, %v; want some", holder, n, err)
			}
		}

		// Read-only tools may open without the lock while a daemon runs.
		ro := open(t, cfg, WithoutLock())
		if _, err := ro.ListSessions(ctx, SessionFilter{}); err != nil {
			t.Errorf("WithoutLock store: %v", err)
		}
		ro.Close()

		if err := first.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := first.Close(); err != nil {
			t.Errorf("second Close: %v, want the first result (nil)", err)
		}
		again, err := Open(ctx, cfg, WithHolder("third"))
		if err != nil {
			t.Fatalf("Open after Close: %v", err)
		}
		again.Close()
	})
}

// TestLockConnectionLost: when the connection holding the advisory lock
// dies, the lock is taken again on a new one, and a second daemon is still
// refused.
func TestLockConnectionLost(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := open(t, Config{Engine: PostgreSQL, DSN: dsn}, WithLockCheck(0))
	var n int
	err := s.DB().QueryRowContext(ctx, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminated %d lock holders (%v), want 1", n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for err = s.Ping(ctx); err != nil && time.Now().Before(deadline); err = s.Ping(ctx) {
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Ping after the lock connection died: %v, want the lock taken again", err)
	}
	if _, err := Open(ctx, Config{Engine: PostgreSQL, DSN: dsn}); !errors.Is(err, ErrLocked) {
		t.Errorf("a second Open after the lock was taken again: %v, want ErrLocked", err)
	}
}

// TestLockSurvivesServerRestart: the server restarts under an open store;
// the store takes its lock again by itself, writes again, and a second
// daemon is still refused.
func TestLockSurvivesServerRestart(t *testing.T) {
	ctx := context.Background()
	c := pgtest.StartCluster(t)
	cfg := Config{Engine: PostgreSQL, DSN: c.DSN()}
	s := open(t, cfg, WithLockCheck(100*time.Millisecond))
	uid := int64(1000)
	if err := s.CreateSession(ctx, &Session{ID: "before", OwnerUID: &uid, Status: "running"}); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	c.Start()
	var err error
	deadline := time.Now().Add(15 * time.Second)
	for err = s.Ping(ctx); err != nil && time.Now().Before(deadline); err = s.Ping(ctx) {
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Ping after the restart: %v, want healthy again", err)
	}
	if _, err := Open(ctx, cfg); !errors.Is(err, ErrLocked) {
		t.Errorf("a second Open after the restart: %v, want ErrLocked", err)
	}
	if err := s.CreateSession(ctx, &Session{ID: "after", OwnerUID: &uid, Status: "running"}); err != nil {
		t.Errorf("write after the restart: %v", err)
	}
}

// TestLockTakenMeanwhileFences: another daemon takes the database while
// this one's lock connection is down. This one must stop writing at once
// and say why, and stay so: two writers never.
func TestLockTakenMeanwhileFences(t *testing.T) {
	ctx := context.Background()
	c := pgtest.StartCluster(t)
	cfg := Config{Engine: PostgreSQL, DSN: c.DSN()}
	first := open(t, cfg, WithLockCheck(0), WithHolder("first daemon"))
	c.Stop()
	c.Start()
	second := open(t, cfg, WithHolder("second daemon"))
	// The first may need a few pings to get past its pool's connections
	// from before the restart (driver: bad connection) to the lock's owner,
	// as /health's do: it must say so within seconds.
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = first.Ping(ctx); err != nil && strings.Contains(err.Error(), "second daemon") {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "second daemon") {
		t.Fatalf("first daemon's Ping = %v, want it to name the daemon that took the database", err)
	}
	uid := int64(1000)
	err = first.CreateSession(ctx, &Session{ID: "x", OwnerUID: &uid, Status: "running"})
	if k, _ := errdefs.KindOf(err); k != errdefs.Unavailable || !strings.Contains(err.Error(), "no longer writes") {
		t.Errorf("first daemon's write = %v, want Unavailable, saying it no longer writes", err)
	}
	if _, err := first.AppendAudit(ctx, AuditRecord{ActorUID: 1, Action: "x"}); err == nil {
		t.Error("first daemon could still write the audit log")
	}
	if err := first.Ping(ctx); err == nil {
		t.Error("first daemon became healthy again while the second holds the database")
	}
	if err := second.CreateSession(ctx, &Session{ID: "y", OwnerUID: &uid, Status: "running"}); err != nil {
		t.Errorf("second daemon's write: %v", err)
	}
	first.Close() // must not release the second's lock
	if _, err := Open(ctx, cfg); !errors.Is(err, ErrLocked) {
		t.Errorf("Open after the fenced daemon closed: %v, want ErrLocked (the second still holds it)", err)
	}
}

func TestBadSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notes := []byte("these are my notes, not a database\n")
	corrupt := append([]byte(sqliteMagic), bytes.Repeat([]byte{0xAB}, 4096)...)
	files := map[string][]byte{
		"notes.db":   notes,
		"short.db":   []byte("SQLite"),
		"corrupt.db": corrupt,
	}
	for name, content := range files {
		write(name, content)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing directory", filepath.Join(dir, "nope", "t.db"), "directory " + filepath.Join(dir, "nope") + " does not exist"},
		{"parent is a file", filepath.Join(dir, "notes.db", "t.db"), "is not a directory"},
		{"relative path", "t.db", "path must be absolute"},
		{"no path", "", "no database path"},
		{"a directory", dir, "is a directory"},
		{"not a database", filepath.Join(dir, "notes.db"), "not a SQLite database (it was left untouched"},
		{"shorter than a header", filepath.Join(dir, "short.db"), "not a SQLite database"},
		{"damaged database", filepath.Join(dir, "corrupt.db"), "damaged, encrypted or not a SQLite database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(ctx, Config{Engine: SQLite, Path: tt.path})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q): err = %v, want it to contain %q", tt.path, err, tt.want)
			} else if tt.path != "" && !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Open(%q): err = %v, want it to name the path", tt.path, err)
			}
		})
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if b, _ := os.ReadFile(p); !bytes.Equal(b, content) {
			t.Errorf("%s was modified", name)
		}
		if m, _ := filepath.Glob(p + "-*"); len(m) != 0 {
			t.Errorf("SQLite files created beside %s: %v", name, m)
		}
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    string
		notWant string
	}{
		{"unknown engine", Config{Engine: "mysql"}, `unknown engine "mysql" (want sqlite or postgresql)`, ""},
		{"no engine", Config{}, "no engine", ""},
		{"no DSN", Config{Engine: PostgreSQL}, "open postgresql: no DSN", ""},
		{"bad DSN", Config{Engine: PostgreSQL, DSN: "postgres://tc:s3cr3t@db:notaport/x"}, "bad DSN", "s3cr3t"},
		{"bad keyword DSN", Config{Engine: PostgreSQL, DSN: "host=db password=s3cr3t port=notaport"}, "bad DSN", "s3cr3t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if tt.notWant != "" && err != nil && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("err = %v, which shows the password", err)
			}
		})
	}
}

// silentServer accepts connections and never answers, like a server behind
// a firewall that drops packets after the handshake, or a hung one.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestUnreachablePostgres(t *testing.T) {
	silent := silentServer(t)
	tests := []struct {
		name    string
		dsn     string
		ctx     time.Duration // 0: no deadline from the caller
		want    []string
		maxWait time.Duration
	}{
		{"connection refused", "postgres://tc@127.0.0.1:1/tc?sslmode=disable", 0,
			[]string{"open postgresql database tc as tc at 127.0.0.1:1", "connection refused"}, 3 * time.Second},
		{"silent server, default timeout", "postgres://tc@" + silent + "/tc?sslmode=disable", 0,
			[]string{"open postgresql database tc as tc at " + silent, "timeout"}, 8 * time.Second},
		{"silent server, caller's deadline", "postgres://tc@" + silent + "/tc?sslmode=disable", 500 * time.Millisecond,
			[]string{silent}, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			start := time.Now()
			_, err := Open(ctx, Config{Engine: PostgreSQL, DSN: tt.dsn})
			took := time.Since(start)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
			if took > tt.maxWait {
				t.Errorf("Open took %v, want at most %v", took, tt.maxWait)
			}
			t.Logf("after %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

// TestWrongPassword needs a server that checks passwords: the one
// scripts/with-postgres.sh starts does for members of tc_password_auth.
func TestWrongPassword(t *testing.T) {
	ctx := context.Background()
	admin, err := sql.Open("pgx", pgtest.AdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() }) // after the role is dropped
	var group bool
	if err := admin.QueryRowContext(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_password_auth')").Scan(&group); err != nil {
		t.Fatal(err)
	}
	if !group {
		t.Skip("the test server has no role tc_password_auth (scripts/with-postgres.sh creates it)")
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	role := "tc_pw_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD 'right-password' IN ROLE tc_password_auth"); err != nil {
		t.Fatal(err)
	}
	// Registered before pgtest.DSN, so it runs after the database is gone.
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP ROLE " + role); err != nil {
			t.Logf("drop role %s: %v", role, err)
		}
	})
	dbDSN := pgtest.DSN(t)
	db, err := sql.Open("pgx", dbDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "GRANT CREATE ON SCHEMA public TO "+role); err != nil {
		t.Fatal(err)
	}
	tcp, _ := pgx.ParseConfig(dbDSN)
	dsn := func(password string) string {
		return "postgres://" + role + ":" + password + "@" + hostPort(tcp.Host, tcp.Port) + "/" + tcp.Database + "?sslmode=disable"
	}
	s, err := Open(ctx, Config{Engine: PostgreSQL, DSN: dsn("right-password")})
	if err != nil {
		t.Fatalf("the right password: %v", err)
	}
	s.Close()
	_, err = Open(ctx, Config{Engine: PostgreSQL, DSN: dsn("wrong-password")})
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") || !strings.Contains(err.Error(), "as "+role) {
		t.Errorf("err = %v, want password authentication failed for %s", err, role)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("err = %v, which shows the password", err)
	}
}

func TestMissingPostgresDatabase(t *testing.T) {
	dsn, err := pgtest.WithDatabase(pgtest.AdminDSN(t), "tc_no_such_database")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), Config{Engine: PostgreSQL, DSN: dsn})
	if err == nil || !strings.Contains(err.Error(), `database "tc_no_such_database" does not exist`) {
		t.Errorf("err = %v, want it to say the database does not exist", err)
	}
}

// TestPostgresSocket opens through the Unix socket, as a daemon on the same
// machine does (peer authentication in production, trust here).
func TestPostgresSocket(t *testing.T) {
	sock := os.Getenv("TELECLAUDE_TEST_PG_SOCKET_DIR")
	if sock == "" {
		t.Skip("TELECLAUDE_TEST_PG_SOCKET_DIR is not set (scripts/with-postgres.sh sets it)")
	}
	tcp, _ := pgx.ParseConfig(pgtest.DSN(t))
	dsn := "host=" + sock + " port=" + strconv.Itoa(int(tcp.Port)) + " dbname=" + tcp.Database + " user=postgres sslmode=disable"
	s := open(t, Config{Engine: PostgreSQL, DSN: dsn}, WithHolder("socket test"))
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	_, err := Open(context.Background(), Config{Engine: PostgreSQL, DSN: dsn})
	if want := "database " + tcp.Database + " as postgres on socket " + sock; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the local socket") {
		t.Errorf("second Open: err = %v, want it to contain %q and the holder's local socket", err, want)
	}
}

// TestDamagedSQLiteRefused: a database whose pages were overwritten (a bad
// disk, a copy taken mid-write) is refused at start, with how to recover
// it, rather than opened and failing every request.
func TestDamagedSQLiteRefused(t *testing.T) {
	// From the second page on, the schema's own pages are damaged too (the
	// schema outgrew the first page at v5); from the second half on, only
	// sessions' pages, found by quick_check.
	for _, from := range []string{"page 2", "half"} {
		t.Run(from, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "t.db")
			s, err := Open(ctx, Config{Engine: SQLite, Path: path})
			if err != nil {
				t.Fatal(err)
			}
			uid := int64(1000)
			for i := range 300 {
				sess := &Session{ID: "s" + strconv.Itoa(i), OwnerUID: &uid, Status: "running", Title: strings.Repeat("t", 100)}
				if err := s.CreateSession(ctx, sess); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := f.Stat()
			off := int64(4096)
			if from == "half" {
				off = st.Size() / 2 / 4096 * 4096
			}
			if _, err := f.WriteAt(bytes.Repeat([]byte{0x5A}, int(st.Size()-off)), off); err != nil {
				t.Fatal(err)
			}
			f.Close()
			_, err = Open(ctx, Config{Engine: SQLite, Path: path})
			if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), ".recover") {
				t.Errorf("Open of a database damaged from %s: %v, want a refusal with the .recover advice", from, err)
			}
		})
	}
}

// TestHealthyOnFullDisk: a SQLite database whose disk is full answers
// reads, but is not healthy: its writes fail.
func TestHealthyOnFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	s := open(t, Config{Engine: SQLite, Path: filepath.Join(dir, "t.db")})
	if err := s.Healthy(ctx); err != nil {
		t.Fatalf("Healthy with room: %v", err)
	}
	filler := filepath.Join(dir, "fill")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for _, err = f.Write(make([]byte, 1<<16)); err == nil; _, err = f.Write(make([]byte, 1<<16)) {
	}
	f.Close()
	if err := s.Healthy(ctx); err == nil || !strings.Contains(err.Error(), "full") {
		t.Errorf("Healthy on a full disk: %v, want it to say the disk is full", err)
	}
	os.Remove(filler)
	if err := s.Healthy(ctx); err != nil {
		t.Errorf("Healthy once there is room again: %v", err)
	}
}
