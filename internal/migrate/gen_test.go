package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/instruktai/teleclaude/internal/store"
)

// genColumns is every column that makeSource fills with varied values,
// per table. TestEveryColumnCarried fails when the schema has a column
// missing here: a new migration must come with test data for its columns,
// so that the migration of those columns is proven too.
var genColumns = map[string][]string{
	"sessions": {"id", "owner_person", "owner_uid", "project", "agent", "title", "status", "exit_code", "tmux_name",
		"created_at", "updated_at", "ended_at", "meta", "project_path", "output_offset"},
	"transcript_entries": {"id", "session_id", "seq", "direction", "content", "at"},
	"audit_log": {"id", "actor_person", "actor_uid", "actor_pid", "action", "target_session_id", "detail", "at",
		"target_owner_person", "target_owner_uid"},
	"session_accounts": {"session_id", "account", "home"},
	"transcript_usage": {"session_id", "bytes", "quota_noted"},
	"doc_owners":       {"name", "person", "bytes", "updated_at"},
	"person_usage":     {"person", "transcript_bytes"},
}

type genOpts struct {
	transcripts int // ordinary transcript rows for session s1
	hugeBytes   int // one transcript entry of this size
}

// hugeContent is a transcript entry of n bytes with multi-byte characters,
// newlines, tabs, quotes and backslashes: everything CSV and COPY escape.
func hugeContent(n int) string {
	var b strings.Builder
	line := "ligne «ünïcødé» 🚀 \"quoted\", back\\slash\ttab 日本語 \\N NULL ,;|\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	return b.String()
}

// makeSource creates a SQLite database at the latest schema at path with
// every table and awkward values: NULLs, unicode, times with and without
// zones, epoch numbers, a Julian day, NUL bytes, JSON spelled oddly, a huge
// transcript, and a deleted transcript row (so SQLite's sequence is ahead
// of the highest id).
func makeSource(t testing.TB, path string, o genOpts) {
	t.Helper()
	ctx := context.Background()
	// With the lock, as a daemon's first start: its lock file stays.
	st, err := store.Open(ctx, store.Config{Engine: store.SQLite, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	fillSource(t, path, o)
}

func openSQL(t testing.TB, path string) *sql.DB {
	t.Helper()
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: "_pragma=foreign_keys(off)"}).String()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func fillSource(t testing.TB, path string, o genOpts) {
	t.Helper()
	db := openSQL(t, path)
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const ses = `INSERT INTO sessions (id, owner_person, owner_uid, project, agent, title, status, exit_code, tmux_name,
		created_at, updated_at, ended_at, meta, project_path, output_offset) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	exec(ses, "s1", "alice", 1001, "démo", "claude", "ünïcødé 🚀 — 日本語", "running", nil, "tc-s1",
		"2026-01-02T03:04:05.123456Z", "2026-01-02T03:04:06.000000Z", nil,
		`{"b": 1.50, "a": [1, 2, {"z": null}], "é": "x\ny", "n": 1e2, "dup": 1, "dup": 2}`, "/srv/démo", 4096)
	// Unowned, times without a zone, with an offset, and as epoch seconds.
	exec(ses, "s2", nil, nil, "p", "shell", "", "exited", 0, "",
		"2024-01-02 03:04:05", "2024-01-02T05:04:05+02:00", 1700000000, nil, "", 0)
	// Epoch milliseconds, a Julian day (real), a date alone.
	exec(ses, "s3", "bob", 1002, "p", "codex", "t", "ended", -1, "tc-s3",
		int64(1700000000123), 2460000.25, "2024-03-04", `[]`, "/p", 1<<40)
	// NUL byte and invalid UTF-8 in text, epoch microseconds, a zone name.
	exec(ses, "s4", "carol", nil, "p", "gemini", "a\x00b\xffc", "failed", 137, "x",
		int64(1700000000123456), "2024-05-06 07:08:09.5 UTC", "2024-05-06T07:08:09.123456789Z", `"just a string"`, "/q", 1)

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES (?,?,?,?,?)`)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seq := 0
	add := func(sid, dir, content string, at any) {
		t.Helper()
		seq++
		if _, err := stmt.Exec(sid, seq, dir, content, at); err != nil {
			t.Fatal(err)
		}
	}
	add("s2", "in", "", "2024-01-02 03:04:06")
	add("s2", "out", "\\N", int64(1700000001))
	add("s2", "out", "tab\there, \"quotes\", back\\slash,\nnew line", "2024-01-02T03:04:07.000001+00:00")
	for i := 0; i < o.transcripts; i++ {
		dir := "out"
		if i%3 == 0 {
			dir = "in"
		}
		add("s1", dir, fmt.Sprintf("line %d: ünïcødé 🚀 %s", i, strings.Repeat("x", i%200)),
			base.Add(time.Duration(i)*time.Millisecond).Format(storeTime))
	}
	if o.hugeBytes > 0 {
		add("s3", "out", hugeContent(o.hugeBytes), "2026-01-02T03:04:05.999999Z")
	}
	add("s4", "in", "deleted", "2026-01-02T03:04:05.000000Z")
	stmt.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	exec(`DELETE FROM transcript_entries WHERE content = 'deleted'`)

	const aud = `INSERT INTO audit_log (actor_person, actor_uid, actor_pid, action, target_session_id, detail, at,
		target_owner_person, target_owner_uid) VALUES (?,?,?,?,?,?,?,?,?)`
	exec(aud, "alice", 1001, 4242, "transcript.read_as_admin", "s3", `{"why": "ünïcødé", "n": [1, 2.0]}`, "2026-01-02T03:04:05.000000Z", "bob", 1002)
	exec(aud, nil, 0, 1, "sessions.end", nil, nil, int64(1700000000), nil, nil)
	exec(aud, "dave", 1003, 77, "ëvent 🚀", "s1", `{}`, "2024-01-02 03:04:05", "alice", 1001)

	exec(`INSERT INTO session_accounts (session_id, account, home) VALUES (?,?,?)`, "s1", "alice", "/home/alice")
	exec(`INSERT INTO session_accounts (session_id, account, home) VALUES (?,?,?)`, "s3", "bøb", "/srv/home dir/bob")
	exec(`INSERT INTO transcript_usage (session_id, bytes, quota_noted) VALUES (?,?,?)`, "s2", 52, 0)
	exec(`INSERT INTO transcript_usage (session_id, bytes, quota_noted) VALUES (?,?,?)`, "s3", int64(1)<<40, 1)
	exec(`INSERT INTO doc_owners (name, person, bytes, updated_at) VALUES (?,?,?,?)`, "runbooks/deploy", "alice", 1<<20, "2026-01-02T03:04:05.000001Z")
	exec(`INSERT INTO doc_owners (name, person, bytes, updated_at) VALUES (?,?,?,?)`, "welcome", "bob", 0, int64(1700000000))
	exec(`INSERT INTO person_usage (person, transcript_bytes) VALUES (?,?)`, "bøb", int64(1)<<40)
	exec(`INSERT INTO person_usage (person, transcript_bytes) VALUES (?,?)`, "alice", 52)
}

const storeTime = "2006-01-02T15:04:05.000000Z"

// fileSum hashes a file's bytes, independently of the code under test.
func fileSum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// dirState lists a directory's files with their hashes: the source's
// directory must look the same after a migration, sidecars included. The
// daemon's lock file only has to be there: whoever takes the lock writes
// who they are into it, and migrate takes it.
func dirState(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".lock") {
			out = append(out, e.Name())
			continue
		}
		out = append(out, e.Name()+" "+fileSum(t, filepath.Join(dir, e.Name())))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// targetCounts counts the rows of our tables in the target; a missing table
// counts as empty.
func targetCounts(t testing.TB, dsn string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	c := pgConn(t, dsn)
	out := map[string]int64{}
	for table := range genColumns {
		var exists bool
		if err := c.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			continue
		}
		var n int64
		if err := c.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func assertEmpty(t testing.TB, dsn string) {
	t.Helper()
	for table, n := range targetCounts(t, dsn) {
		if n != 0 {
			t.Errorf("target table %s has %d rows after a failed migration; want 0", table, n)
		}
	}
}

var testOwner = &Owner{Person: "mig", UID: 4242}

// run migrates from into to with test defaults.
func migrateT(t testing.TB, from, to string, opts ...func(*Options)) (*Report, error) {
	t.Helper()
	o := Options{From: from, To: to, Owner: testOwner, Holder: "migrate test"}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return Run(ctx, o)
}

// newPair makes a source database with awkward data and an empty target.
func newPair(t testing.TB, o genOpts) (src, dsn string) {
	t.Helper()
	src = filepath.Join(t.TempDir(), "teleclaude.db")
	makeSource(t, src, o)
	return src, pgtest.DSN(t)
}

// pgConn connects to dsn for the length of the test.
func pgConn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(ctx) })
	return c
}

// targetStore opens the target through the daemon's store, for the length
// of the test; it creates or upgrades the schema as a daemon's start does.
func targetStore(t testing.TB, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Engine: store.PostgreSQL, DSN: dsn}, store.WithoutLock())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
