package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/instruktai/teleclaude/internal/migrate"
	"github.com/instruktai/teleclaude/internal/migrate/migratetest"
	"github.com/instruktai/teleclaude/internal/store"
)

// migrateBench measures `teleclaude migrate` on a generated database
// against the raw `sqlite3 -csv | psql \copy` pipeline and against
// pgloader, on the same file, in the same run. Times are wall clock from
// exec to exit; peak memory is each process's maxrss as time(1) reports it
// (for the pipeline, sqlite3's and psql's added, per table, the largest
// table's).
func (b *bench) migrateBench(admin string, sessions, rows int) error {
	if admin == "" {
		b.row("teleclaude migrate", "skipped: no TELECLAUDE_TEST_PG_DSN", "", "")
		return nil
	}
	dir, err := os.MkdirTemp("", "tc-bench-migrate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "teleclaude.db")
	t0 := time.Now()
	if err := generate(src, sessions, rows); err != nil {
		return fmt.Errorf("generate the source: %w", err)
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: generated %s (%d sessions, %d transcript rows, %.0f MB) in %.1f s\n",
		src, sessions, rows, float64(st.Size())/1e6, time.Since(t0).Seconds())
	what := fmt.Sprintf("%d sessions, %d transcript rows, %.0f MB", sessions, rows, float64(st.Size())/1e6)

	// teleclaude migrate, verification included.
	dsn := freshDB(admin, dir+"_tc")
	var rep struct {
		OK     bool `json:"ok"`
		Tables []struct {
			Name     string `json:"name"`
			Rows     int64  `json:"target_rows"`
			Verified bool   `json:"verified"`
		} `json:"tables"`
	}
	out, tcRun, err := measure(nil, filepath.Join(b.bin, "teleclaude"), "migrate", "--from", src, "--to", dsn, "--owner", "0", "--json")
	if err != nil {
		return fmt.Errorf("teleclaude migrate: %w\n%s", err, out)
	}
	if err := json.Unmarshal(out, &rep); err != nil || !rep.OK {
		return fmt.Errorf("teleclaude migrate report: %v\n%s", err, out)
	}

	// The raw pipeline, into the same schema (created beforehand, untimed).
	pipeDSN := freshDB(admin, dir+"_pipe")
	s, err := store.Open(context.Background(), store.Config{Engine: store.PostgreSQL, DSN: pipeDSN}, store.WithoutLock())
	if err != nil {
		return err
	}
	s.Close()
	var pipe measured
	var pipeErr error
	if _, err := exec.LookPath("sqlite3"); err != nil {
		pipeErr = fmt.Errorf("no sqlite3 (apt-get install sqlite3)")
	} else {
		pipe, pipeErr = pipeline(src, pipeDSN, benchTables)
		if pipeErr == nil {
			pipeErr = expectRows(pipeDSN, "transcript_entries", rows)
		}
	}

	// The same pipeline with keys, indexes and foreign keys set aside and
	// rebuilt in one transaction, as migrate does: the fair comparison of
	// the copying itself.
	pipeDefDSN := freshDB(admin, dir+"_pipedef")
	if s, err := store.Open(context.Background(), store.Config{Engine: store.PostgreSQL, DSN: pipeDefDSN}, store.WithoutLock()); err != nil {
		return err
	} else {
		s.Close()
	}
	var pipeDef measured
	var pipeDefErr error
	if pipeErr == nil {
		pipeDef, pipeDefErr = pipelineDeferred(src, pipeDefDSN)
		if pipeDefErr == nil {
			pipeDefErr = expectRows(pipeDefDSN, "transcript_entries", rows)
		}
	} else {
		pipeDefErr = pipeErr
	}

	// pgloader with its defaults: it creates its own schema.
	var pgl measured
	var pglErr error
	if _, err := exec.LookPath("pgloader"); err != nil {
		pglErr = fmt.Errorf("no pgloader (apt-get install pgloader)")
	} else {
		pglDSN := freshDB(admin, dir+"_pgl")
		// goose's bookkeeping is left out: pgloader cannot translate its
		// SQLite default (datetime('now')) and gives up on the schema.
		load := filepath.Join(dir, "bench.load")
		script := fmt.Sprintf("LOAD DATABASE\n  FROM sqlite://%s\n  INTO %s\n  EXCLUDING TABLE NAMES LIKE 'goose_db_version';\n", src, pgloaderURL(pglDSN))
		if err := os.WriteFile(load, []byte(script), 0o600); err != nil {
			return err
		}
		var out []byte
		out, pgl, pglErr = measure(nil, "pgloader", "--no-ssl-cert-verification", load)
		if pglErr == nil {
			// pgloader may exit 0 having loaded nothing: count.
			pglErr = expectRows(pglDSN, "transcript_entries", rows)
		}
		if pglErr != nil {
			pglErr = fmt.Errorf("%v: %s", pglErr, lastLines(out, 5))
		}
	}

	b.row("migrate: "+what, "", "", "")
	ref := func(name string, r measured, err error) (string, string) {
		if err != nil {
			return name + ": failed: " + err.Error(), ""
		}
		return fmt.Sprintf("%s: %.2f s, %s", name, r.wall.Seconds(), mb(r.rssMB)), fmt.Sprintf("%.2f×", tcRun.wall.Seconds()/r.wall.Seconds())
	}
	refText, ratioText := ref("sqlite3 -csv | psql \\copy", pipe, pipeErr)
	b.row("teleclaude migrate, verified (wall)", fmt.Sprintf("%.2f s", tcRun.wall.Seconds()), refText, ratioText)
	refText, ratioText = ref("same, keys and indexes rebuilt after", pipeDef, pipeDefErr)
	b.row("teleclaude migrate vs the fair pipeline (wall)", fmt.Sprintf("%.2f s", tcRun.wall.Seconds()), refText, ratioText)
	refText, ratioText = ref("pgloader", pgl, pglErr)
	b.row("teleclaude migrate vs pgloader (wall)", fmt.Sprintf("%.2f s", tcRun.wall.Seconds()), refText, ratioText)
	memRatio := ""
	if pglErr == nil {
		memRatio = fmt.Sprintf("%.2f× pgloader's", tcRun.rssMB/pgl.rssMB)
	}
	b.row("teleclaude migrate peak RSS", mb(tcRun.rssMB), "", memRatio)
	return nil
}

// generate makes the benchmark's source: the daemon's schema, sessions
// with JSON meta, and transcript rows of about 200 bytes of mixed text.
func generate(path string, sessions, rows int) error {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Engine: store.SQLite, Path: path}, store.WithoutLock())
	if err != nil {
		return err
	}
	s.Close()
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: "_pragma=synchronous(off)&_pragma=journal_mode(off)"}).String()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	text := strings.Repeat("compiling ünïcødé output — the quick brown fox jumps over the lazy dog 🚀 0123456789 ", 6)
	stmts := []string{
		`PRAGMA journal_mode = off`,
		`BEGIN`,
		fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < %d)
		 INSERT INTO sessions (id, owner_person, owner_uid, project, project_path, agent, title, status, exit_code, tmux_name,
			output_offset, created_at, updated_at, ended_at, meta)
		 SELECT printf('s%%06d', i), CASE WHEN i %% 10 = 0 THEN NULL ELSE 'user' || (i %% 50) END,
			CASE WHEN i %% 10 = 0 THEN NULL ELSE 1000 + i %% 50 END, 'project-' || (i %% 20), '/srv/project-' || (i %% 20),
			'claude', 'session ' || i, 'ended', i %% 3, 'tc-' || i, i * 17,
			strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000Z', 1700000000 + i * 60, 'unixepoch'),
			strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000Z', 1700000030 + i * 60, 'unixepoch'),
			strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000Z', 1700000050 + i * 60, 'unixepoch'),
			json_object('model', 'opus', 'n', i, 'tags', json_array('a', 'b'))
		 FROM c`, sessions),
		fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < %d)
		 INSERT INTO transcript_entries (session_id, seq, direction, content, at)
		 SELECT printf('s%%06d', i %% %d), i / %d + 1, CASE WHEN i %% 4 = 0 THEN 'in' ELSE 'out' END,
			i || ': ' || substr(?1, 1 + i %% 80, 100 + i %% 100),
			strftime('%%Y-%%m-%%dT%%H:%%M:%%S', 1700000000 + i / 10, 'unixepoch') || printf('.%%06dZ', (i %% 10) * 100000)
		 FROM c`, rows, sessions, sessions),
		fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < %d)
		 INSERT INTO audit_log (actor_person, actor_uid, actor_pid, action, target_session_id, detail, at, target_owner_person, target_owner_uid)
		 SELECT 'admin', 1000, 4000 + i, 'transcript.read_as_admin', printf('s%%06d', i), json_object('why', 'audit'),
			strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000Z', 1700000000 + i, 'unixepoch'), 'user1', 1001
		 FROM c`, sessions/10),
		`COMMIT`,
	}
	for _, q := range stmts {
		var err error
		if strings.Contains(q, "?1") {
			_, err = db.Exec(q, text)
		} else {
			_, err = db.Exec(q)
		}
		if err != nil {
			return fmt.Errorf("%.60s…: %w", q, err)
		}
	}
	return db.Close()
}

type measured struct {
	wall  time.Duration
	rssMB float64
}

// measure runs a command to its end and returns its stdout, wall time and
// peak RSS (timed).
func measure(stdin io.Reader, name string, args ...string) ([]byte, measured, error) {
	cmd, peak := timed(name, args...)
	cmd.Stdin = stdin
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	r := measured{wall: time.Since(t0), rssMB: peak()}
	if err != nil {
		return []byte(out.String() + errb.String()), r, err
	}
	return []byte(out.String()), r, nil
}

// timeProg measures a child's peak memory. wait4's maxrss of a child this
// bench starts itself is worthless: Go starts children with vfork
// (CLONE_VM), and at exec the kernel records the bench's own high-water
// mark as the child's (tried: /bin/true "peaked" at the 200 MB its Go
// parent had touched, and GNU time over it said 1 MB). time(1) is small,
// and the maxrss it reports is its child's own, that child's waited-for
// children included.
const timeProg = "/usr/bin/time"

// timed is name args under time(1); peak reads the child's peak RSS in MB
// once it has exited (NaN without time(1)).
func timed(name string, args ...string) (cmd *exec.Cmd, peak func() float64) {
	none := func() float64 { return math.NaN() }
	if !gnuTime() {
		return exec.Command(name, args...), none
	}
	f, err := os.CreateTemp("", "tc-bench-peak-")
	if err != nil {
		return exec.Command(name, args...), none
	}
	f.Close()
	cmd = exec.Command(timeProg, append([]string{"-o", f.Name(), "-f", "%M", name}, args...)...)
	return cmd, func() float64 {
		defer os.Remove(f.Name())
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return math.NaN()
		}
		// A failed command's line ("Command exited with …") comes first.
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		kib, err := strconv.ParseFloat(lines[len(lines)-1], 64)
		if err != nil {
			return math.NaN()
		}
		return kib * 1024 / 1e6
	}
}

// gnuTime says whether timeProg is GNU time, which has -o and -f (BSD's
// has neither).
var gnuTime = sync.OnceValue(func() bool {
	out, err := exec.Command(timeProg, "--version").CombinedOutput()
	return err == nil && strings.Contains(string(out), "GNU")
})

func mb(x float64) string {
	if math.IsNaN(x) {
		return "? MB (no GNU time at " + timeProg + ": apt-get install time)"
	}
	return fmt.Sprintf("%.0f MB", x)
}

// pipeline copies each table with sqlite3 -csv piped into psql's \copy,
// tables one after another in dependency order.
func pipeline(src, dsn string, tables []pipeTable) (measured, error) {
	var total measured
	t0 := time.Now()
	for _, tb := range tables {
		lite, litePeak := timed("sqlite3", "-csv", src, "SELECT "+tb.cols+" FROM "+tb.src)
		pg, pgPeak := timed("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", `\copy `+tb.dst+" ("+tb.cols+") FROM STDIN WITH (FORMAT csv)")
		pipe, err := lite.StdoutPipe()
		if err != nil {
			return measured{}, err
		}
		pg.Stdin = pipe
		var errs strings.Builder
		lite.Stderr, pg.Stderr = &errs, &errs
		if err := lite.Start(); err != nil {
			return measured{}, err
		}
		if err := pg.Start(); err != nil {
			lite.Process.Kill()
			return measured{}, err
		}
		err1, err2 := lite.Wait(), pg.Wait()
		peakMB := litePeak() + pgPeak() // read either way: it removes the files
		if err1 != nil || err2 != nil {
			return measured{}, fmt.Errorf("%s: sqlite3 %v, psql %v: %s", tb.src, err1, err2, errs.String())
		}
		total.rssMB = max(total.rssMB, peakMB)
	}
	total.wall = time.Since(t0)
	return total, nil
}

// benchTables are the daemon's tables and columns, for the sqlite3
// pipelines, in an order that respects the foreign keys.
var benchTables = []pipeTable{
	{src: "sessions", dst: "sessions", cols: "id, owner_person, owner_uid, project, agent, title, status, exit_code, tmux_name, created_at, updated_at, ended_at, meta, project_path, output_offset"},
	{src: "transcript_entries", dst: "transcript_entries", cols: "id, session_id, seq, direction, content, at"},
	{src: "audit_log", dst: "audit_log", cols: "id, actor_person, actor_uid, actor_pid, action, target_session_id, detail, at, target_owner_person, target_owner_uid"},
}

// pipelineDeferred is one psql session that sets the keys, indexes and
// foreign keys aside (from the catalog), runs \copy FROM PROGRAM 'sqlite3
// -csv …' for each table, and rebuilds them, in one transaction. Peak
// memory is psql's and its sqlite3 children's largest.
func pipelineDeferred(src, dsn string) (measured, error) {
	var sc strings.Builder
	sc.WriteString(`\set ON_ERROR_STOP 1
BEGIN;
CREATE TEMP TABLE ddl AS
  SELECT CASE contype WHEN 'f' THEN 3 ELSE 1 END AS ord,
         format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS up,
         format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) AS down
  FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND contype IN ('p', 'u', 'f')
  UNION ALL
  SELECT 2, pg_get_indexdef(i.indexrelid), format('DROP INDEX %s', i.indexrelid::regclass)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  WHERE c.relnamespace = current_schema()::regnamespace AND c.relname <> 'goose_db_version'
    AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid);
DO $$ DECLARE r record; BEGIN FOR r IN SELECT down FROM ddl ORDER BY ord DESC LOOP EXECUTE r.down; END LOOP; END $$;
`)
	for _, tb := range benchTables {
		prog := "sqlite3 -csv " + src + " 'SELECT " + tb.cols + " FROM " + tb.src + "'"
		fmt.Fprintf(&sc, "\\copy %s (%s) FROM PROGRAM '%s' WITH (FORMAT csv)\n", tb.dst, tb.cols, strings.ReplaceAll(prog, "'", "''"))
	}
	sc.WriteString(`DO $$ DECLARE r record; BEGIN FOR r IN SELECT up FROM ddl ORDER BY ord LOOP EXECUTE r.up; END LOOP; END $$;
COMMIT;
`)
	out, m, err := measure(strings.NewReader(sc.String()), "psql", "-X", "-q", dsn)
	if err != nil {
		return m, fmt.Errorf("%v: %s", err, lastLines(out, 5))
	}
	return m, nil
}

// pgloaderURL turns a postgres:// DSN into the postgresql:// URL pgloader
// reads, without the query string it does not understand.
func pgloaderURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Scheme, u.RawQuery = "postgresql", ""
	return u.String()
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// expectRows checks that a reference tool really loaded the table.
func expectRows(dsn, table string, want int) error {
	out, err := exec.Command("psql", "-X", "-qAt", dsn, "-c", "SELECT count(*) FROM "+table).CombinedOutput()
	if err != nil {
		return fmt.Errorf("count %s: %v: %s", table, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != fmt.Sprint(want) {
		return fmt.Errorf("%s has %s rows, want %d", table, got, want)
	}
	return nil
}

// upstreamRows is the size of the upstream benchmark's database.
var upstreamRows = flag.Int("upstream-rows", 1000000, "rows in the upstream migration benchmark's database, over all its tables")

// upstreamBench measures `teleclaude migrate` of an upstream (Python)
// TeleClaude database: upstream's HEAD schema (FTS5 tables, triggers,
// WAL), every table filled, rows rows in all, against `sqlite3 -csv |
// psql \copy` of the same tables in the same run: into bare tables, into
// tables with the same keys and indexes in place, and into bare tables
// followed by those keys and indexes (taken from migrate's own target with
// pg_dump), as migrate makes them.
func (b *bench) upstreamBench(admin string, rows int) error {
	if admin == "" {
		b.row("teleclaude migrate (upstream)", "skipped: no TELECLAUDE_TEST_PG_DSN", "", "")
		return nil
	}
	dir, err := os.MkdirTemp("", "tc-bench-upstream-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	src, tables, err := generateUpstream(dir, rows)
	if err != nil {
		return fmt.Errorf("generate the upstream source: %w", err)
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: generated %s (%d rows in %d tables, %.0f MB) in %.1f s\n",
		src, rows, len(tables), float64(st.Size())/1e6, time.Since(t0).Seconds())
	what := fmt.Sprintf("upstream HEAD schema, %d rows in %d tables, %.0f MB", rows, len(tables), float64(st.Size())/1e6)

	dsn := freshDB(admin, dir+"_tc")
	out, tcRun, err := measure(nil, filepath.Join(b.bin, "teleclaude"), "migrate", "--from", src, "--to", dsn, "--owner", "0", "--json")
	if err != nil {
		return fmt.Errorf("teleclaude migrate: %w\n%s", err, lastLines(out, 20))
	}
	var rep struct {
		OK     bool `json:"ok"`
		Tables []struct {
			Name     string `json:"name"`
			Rows     int64  `json:"target_rows"`
			Verified bool   `json:"verified"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(out, &rep); err != nil || !rep.OK {
		return fmt.Errorf("teleclaude migrate report: %v\n%s", err, lastLines(out, 20))
	}
	var moved int64
	for _, t := range rep.Tables {
		moved += t.Rows
	}
	if moved != int64(rows) {
		return fmt.Errorf("teleclaude migrate moved %d rows; the source has %d", moved, rows)
	}
	post, err := exec.Command("pg_dump", "--section=post-data", "--schema="+migrate.UpstreamSchema, dsn).Output()
	if err != nil {
		return fmt.Errorf("pg_dump the keys and indexes migrate made: %w", err)
	}

	// The pipelines, into tables made beforehand (untimed): bare; with the
	// keys and indexes in place (as issue 7's reference); bare, then the
	// keys and indexes made after the copy, timed (as migrate does).
	var pipe, pipeIn, pipeKeys measured
	var pipeErr error
	if _, err := exec.LookPath("sqlite3"); err != nil {
		pipeErr = fmt.Errorf("no sqlite3 (apt-get install sqlite3)")
	}
	for i, m := range []*measured{&pipe, &pipeIn, &pipeKeys} {
		if pipeErr != nil {
			break
		}
		pdsn := freshDB(admin, fmt.Sprintf("%s_pipe%d", dir, i))
		if out, err := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pdsn, "-c", upstreamDDL(tables)).CombinedOutput(); err != nil {
			return fmt.Errorf("make the pipeline's tables: %v: %s", err, out)
		}
		if i == 1 {
			if out, _, err := measure(strings.NewReader(string(post)), "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pdsn); err != nil {
				return fmt.Errorf("keys and indexes: %v: %s", err, lastLines(out, 5))
			}
		}
		if *m, pipeErr = pipeline(src, pdsn, tables); pipeErr != nil {
			break
		}
		if i == 2 {
			out, k, err := measure(strings.NewReader(string(post)), "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pdsn)
			if err != nil {
				pipeErr = fmt.Errorf("keys and indexes: %v: %s", err, lastLines(out, 5))
				break
			}
			m.wall += k.wall
			m.rssMB = max(m.rssMB, k.rssMB)
		}
		pipeErr = expectRows(pdsn, migrate.UpstreamSchema+".memory_observations", tables[slices.IndexFunc(tables, func(t pipeTable) bool { return t.src == `"memory_observations"` })].rows)
	}

	b.row("migrate: "+what, "", "", "")
	ref := func(name string, r measured) (string, string) {
		if pipeErr != nil {
			return name + ": failed: " + pipeErr.Error(), ""
		}
		return fmt.Sprintf("%s: %.2f s, %s", name, r.wall.Seconds(), mb(r.rssMB)), fmt.Sprintf("%.2f×", tcRun.wall.Seconds()/r.wall.Seconds())
	}
	refText, ratio := ref("sqlite3 -csv | psql \\copy, bare tables", pipe)
	b.row("teleclaude migrate (upstream), verified (wall)", fmt.Sprintf("%.2f s", tcRun.wall.Seconds()), refText, ratio)
	refText, ratio = ref("same, the same keys and indexes in place", pipeIn)
	b.row("teleclaude migrate (upstream) vs the pipeline into keyed tables (wall)", fmt.Sprintf("%.2f s", tcRun.wall.Seconds()), refText, ratio)
	refText, ratio = ref("same, bare, the keys and indexes made after", pipeKeys)
	b.row("teleclaude migrate (upstream) vs the fair pipeline (wall)", fmt.Sprintf("%.2f s", tcRun.wall.Seconds()), refText, ratio)
	b.row("teleclaude migrate (upstream) peak RSS", mb(tcRun.rssMB), "", "")
	return nil
}

// pipeTable is one table for the sqlite3 | psql pipelines.
type pipeTable struct {
	src, dst string // the SQLite table, the PostgreSQL table
	cols     string // the column list, quoted
	ddl      string // for the upstream tables: CREATE TABLE
	rows     int
}

// upstreamDDL makes the schema upstream and its bare tables.
func upstreamDDL(tables []pipeTable) string {
	s := "CREATE SCHEMA " + migrate.UpstreamSchema + ";\n"
	for _, t := range tables {
		s += t.ddl + ";\n"
	}
	return s
}

// generateUpstream makes an upstream database from upstream's HEAD
// schema with rows rows over all its tables: the big ones (memory,
// mirrors, outboxes, sessions) most, each of the others an equal share of
// the rest. Values by declared type and name: ids and keys unique, times
// as upstream writes them, JSON where upstream keeps JSON, flags 0/1, and
// texts of 20 to 60 bytes, 200 to 400 (memory narratives and mirrored conversations
// the longest). The FTS5 triggers fill the search indexes as under Python.
func generateUpstream(dir string, rows int) (string, []pipeTable, error) {
	schema, err := migratetest.Schema(migratetest.Head)
	if err != nil {
		return "", nil, err
	}
	share := map[string]float64{"memory_observations": 0.2, "hook_outbox": 0.15, "mirrors": 0.1, "inbound_queue": 0.1,
		"webhook_outbox": 0.1, "sessions": 0.05, "operations": 0.05}
	var tables []pipeTable
	fill := func(c *sqlite3.Conn) error {
		st, _, err := c.Prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
			AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE '%_fts_%' ORDER BY name`)
		if err != nil {
			return err
		}
		var names []string
		for st.Step() {
			names = append(names, st.ColumnText(0))
		}
		st.Close()
		rest := 1.0
		for _, f := range share {
			rest -= f
		}
		left := rows
		for i, name := range names {
			n := int(float64(rows) * rest / float64(len(names)-len(share)))
			if f, ok := share[name]; ok {
				n = int(float64(rows) * f)
			}
			if i == len(names)-1 {
				n = left
			}
			left -= n
			t, ins, err := upstreamInsert(c, name, n)
			if err != nil {
				return err
			}
			if err := c.Exec("BEGIN; " + ins + "; COMMIT"); err != nil {
				return fmt.Errorf("fill %s: %w", name, err)
			}
			tables = append(tables, t)
		}
		return nil
	}
	src, err := migratetest.Build(dir, "PRAGMA foreign_keys = off; PRAGMA journal_mode = wal; PRAGMA synchronous = off;"+schema, false, fill)
	return src, tables, err
}

// upstreamCheck are values that satisfy upstream's CHECK constraints.
var upstreamCheck = map[string]string{
	"deletion_type": "'feedback'", "mode": "'direct_link'", "state": "'queued'",
	"inbound_queue.status": "'pending'", "conversation_links.status": "'active'", "message_type": "'text'",
}

// upstreamInsert builds the INSERT … SELECT that fills one table with n
// rows, and the table's pipeline entry.
func upstreamInsert(c *sqlite3.Conn, table string, n int) (pipeTable, string, error) {
	st, _, err := c.Prepare(`SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid`)
	if err != nil {
		return pipeTable{}, "", err
	}
	defer st.Close()
	st.BindText(1, table)
	const long = "the quick brown fox jumps over the lazy dog — ünïcødé 🚀 compiling output, tests passing, 0123456789; "
	var qcols, exprs, defs []string
	for st.Step() {
		name, typ := st.ColumnText(0), strings.ToUpper(st.ColumnText(1))
		var e string
		switch {
		case upstreamCheck[table+"."+name] != "":
			e = upstreamCheck[table+"."+name]
		case upstreamCheck[name] != "":
			e = upstreamCheck[name]
		case strings.Contains(typ, "INT"):
			e = "i + 1"
			if st.ColumnInt(2) == 0 {
				e = "(i * 7919) % 1000003"
			}
		case strings.Contains(typ, "BOOL"):
			e = "i % 2"
		case strings.Contains(typ, "REAL"), strings.Contains(typ, "FLOA"), strings.Contains(typ, "DOUB"):
			e = "i * 0.25"
		case strings.Contains(typ, "TIMESTAMP"), strings.HasSuffix(name, "_at"), strings.HasPrefix(name, "timestamp"):
			e = "strftime('%Y-%m-%d %H:%M:%S', 1767225600 + i, 'unixepoch')"
		case strings.Contains(name, "metadata"), strings.Contains(name, "json"), name == "payload", name == "ux_state", name == "transcript_files":
			e = "json_object('id', i, 'kind', 'bench', 'tags', json_array('a', 'b'))"
		case name == "narrative", name == "conversation_text", name == "content", name == "last_output_raw":
			e = "'" + name + " ' || i || ': ' || substr(?1, 1 + i % 100, 200 + i % 200)"
		default:
			e = "'" + name + "-' || i || ' ' || substr(?1, 1 + i % 100, 10 + i % 40)"
		}
		qcols = append(qcols, `"`+name+`"`)
		exprs = append(exprs, e)
		defs = append(defs, `"`+name+`" `+migrate.UpstreamType(st.ColumnText(1)))
	}
	if err := st.Err(); err != nil {
		return pipeTable{}, "", err
	}
	text := strings.Repeat(long, 8)
	ins := fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < %d)
		INSERT INTO "%s" (%s) SELECT %s FROM c`, n, table, strings.Join(qcols, ", "), strings.ReplaceAll(strings.Join(exprs, ", "), "?1", "'"+text+"'"))
	dst := migrate.UpstreamSchema + `."` + table + `"`
	return pipeTable{src: `"` + table + `"`, dst: dst, cols: strings.Join(qcols, ", "), rows: n,
		ddl: "CREATE TABLE " + dst + " (" + strings.Join(defs, ", ") + ")"}, ins, nil
}
