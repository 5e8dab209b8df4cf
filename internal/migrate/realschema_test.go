package migrate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/instruktai/teleclaude/internal/migrate/migratetest"
)

// The upstream Python TeleClaude's schema at three commits, as its own code
// builds it (migratetest/testdata/upstream/README.md says how they were dumped):
// HEAD with FTS5 and WAL, one after the memory tables arrived, and one
// from before them.
var upstreamSchemas = []struct {
	name, file string
	fts        bool
}{
	{"head-451f0fb", migratetest.Head, true},
	{"2026-02-81bae69", migratetest.Feb2026, true},
	{"2026-01-dd6c463", migratetest.Jan2026, false},
}

func upstreamDDL(t testing.TB, file string) string { return migratetest.MustSchema(t, file) }

func upstreamConn(t testing.TB, path string) *sqlite3.Conn {
	t.Helper()
	c, err := migratetest.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// awkward text values, in turn per row: empty, unicode with quotes and
// escapes, JSON that is not an object, every time form upstream writes.
var awkwardText = []string{
	"",
	"ünïcødé 🚀 \"q\" back\\slash\ttab\r\nline 日本語 \\N",
	"[1, 2, {\"k\": null}]",
	"2026-01-02 03:04:05",              // CURRENT_TIMESTAMP
	"2026-01-02T03:04:05.123456+00:00", // Python isoformat(), aware
	"2026-01-02T03:04:05.123456",       // isoformat(), naive
	"2026-01-02T03:04:05Z",
	"\"a JSON string\"",
	"null",
}

var awkwardInt = []int64{0, 1, -1, 9223372036854775807, -9223372036854775808, 1767322800, 1767322800123}

// checkValues satisfy upstream's CHECK constraints.
var checkValues = map[string][]string{
	"deletion_type": {"user_input", "feedback"},
	"message_type":  {"text", "voice", "file"},
	"mode":          {"direct_link", "gathering_link"},
	"state":         {"queued", "running", "completed", "failed", "stale", "cancelled"},
}

type upCol struct {
	name, typ string
	notnull   bool
	unique    bool // part of the primary key or of a unique index
}

// fillUpstream puts rows into every ordinary table of an upstream
// database: NULLs where allowed, empty strings, unicode, a 1 MiB text,
// JSON that is not an object, the biggest integers, the time forms
// upstream writes, and orphans (rows whose session does not exist; the
// Python code runs without foreign_keys). Sessions get plausible times
// and owners, since their mapping is tested on its own. It returns the
// rows per table.
func fillUpstream(t testing.TB, c *sqlite3.Conn, rows int) map[string]int {
	t.Helper()
	tables := queryStrings(t, c, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name`)
	virtual := queryStrings(t, c, `SELECT name FROM sqlite_schema WHERE sql LIKE 'CREATE VIRTUAL%'`)
	counts := map[string]int{}
	if err := c.Exec("BEGIN"); err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if slices.ContainsFunc(virtual, func(v string) bool { return strings.HasPrefix(tb, v+"_") }) {
			continue // shadow tables: FTS5 fills them
		}
		cols := upstreamCols(t, c, tb)
		var names, marks []string
		for _, col := range cols {
			names = append(names, quoteSQLite(col.name))
			marks = append(marks, "?")
		}
		st, _, err := c.Prepare(`INSERT INTO ` + quoteSQLite(tb) + ` (` + strings.Join(names, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`)
		if err != nil {
			t.Fatal(err)
		}
		// One 1 MiB text per table, in its first free text column (FTS5
		// indexes later ones, and indexing a MiB takes seconds).
		big := slices.IndexFunc(cols, func(c upCol) bool {
			return affinityOf(c.typ) == "TEXT" && !c.unique && checkValues[c.name] == nil && c.name != "status" && tb != "sessions"
		})
		for i := 0; i < rows; i++ {
			for j, col := range cols {
				if i == 1 && j == big {
					st.BindText(j+1, strings.Repeat("1 MiB of text ✓ ", 1<<16))
					continue
				}
				bindAwkward(t, st, j+1, tb, col, i)
			}
			if err := st.Exec(); err != nil {
				t.Fatalf("insert into %s row %d: %v", tb, i, err)
			}
		}
		st.Close()
		counts[tb] = rows
	}
	if err := c.Exec("COMMIT"); err != nil {
		t.Fatal(err)
	}
	return counts
}

func bindAwkward(t testing.TB, st *sqlite3.Stmt, n int, table string, col upCol, i int) {
	t.Helper()
	aff := affinityOf(col.typ)
	if table == "sessions" {
		switch col.name {
		case "session_id":
			st.BindText(n, fmt.Sprintf("sess-%d", i))
			return
		case "created_at", "last_activity":
			st.BindText(n, awkwardText[3+i%4])
			return
		case "closed_at":
			if i%2 == 0 {
				st.BindNull(n)
			} else {
				st.BindText(n, "2026-01-03 00:00:00")
			}
			return
		case "human_email":
			st.BindText(n, []string{"ann@example.org", "bob@example.org", "nobody@example.org"}[i%3])
			return
		case "project_path", "working_directory":
			st.BindText(n, "/home/ann/work/proj")
			return
		case "subdir":
			st.BindNull(n)
			return
		case "initiated_by_ai", "turn_triggered_by_linked_output", "closed":
			st.BindInt64(n, int64(i%2))
			return
		}
	}
	if vals, ok := checkValues[col.name]; ok {
		st.BindText(n, vals[i%len(vals)])
		return
	}
	if table == "conversation_links" && col.name == "status" {
		st.BindText(n, []string{"active", "closed"}[i%2])
		return
	}
	if table == "inbound_queue" && col.name == "status" {
		st.BindText(n, []string{"pending", "processing", "delivered", "failed", "expired"}[i%5])
		return
	}
	if !col.notnull && i%5 == 4 {
		st.BindNull(n)
		return
	}
	switch aff {
	case "INTEGER":
		v := awkwardInt[i%len(awkwardInt)]
		if col.unique {
			v = int64(i) + 1
		}
		st.BindInt64(n, v)
	case "REAL":
		st.BindFloat(n, float64(i)+0.25)
	case "BLOB":
		st.BindBlob(n, []byte{0, 1, 2, byte(i)})
	default: // TEXT and NUMERIC (upstream's TIMESTAMP and BOOLEAN)
		if strings.Contains(strings.ToUpper(col.typ), "BOOL") {
			st.BindInt64(n, int64(i%2))
			return
		}
		v := awkwardText[i%len(awkwardText)]
		if col.unique {
			v = fmt.Sprintf("%s#%d", v, i)
		}
		st.BindText(n, v)
	}
}

func upstreamCols(t testing.TB, c *sqlite3.Conn, table string) []upCol {
	t.Helper()
	st, _, err := c.Prepare(`SELECT name, type, "notnull", pk FROM pragma_table_info(?)`)
	if err != nil {
		t.Fatal(err)
	}
	st.BindText(1, table)
	var cols []upCol
	for st.Step() {
		cols = append(cols, upCol{name: st.ColumnText(0), typ: st.ColumnText(1), notnull: st.ColumnInt(2) != 0, unique: st.ColumnInt(3) != 0})
	}
	st.Close()
	for _, idx := range queryStrings(t, c, `SELECT name FROM pragma_index_list('`+strings.ReplaceAll(table, "'", "''")+`') WHERE "unique"`) {
		for _, cn := range queryStrings(t, c, `SELECT name FROM pragma_index_info('`+strings.ReplaceAll(idx, "'", "''")+`')`) {
			for i := range cols {
				if cols[i].name == cn {
					cols[i].unique = true
				}
			}
		}
	}
	return cols
}

func queryStrings(t testing.TB, c *sqlite3.Conn, q string) []string {
	t.Helper()
	st, _, err := c.Prepare(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer st.Close()
	var out []string
	for st.Step() {
		out = append(out, st.ColumnText(0))
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// makeUpstreamReal builds a database from one of upstream's schemas, in
// WAL mode as upstream runs it, filled by fillUpstream. With leaveWAL the
// returned file still has its rows in the -wal (a snapshot taken while
// the writer had them, as of a running Python daemon).
func makeUpstreamReal(t testing.TB, file string, rows int, leaveWAL bool) (string, map[string]int) {
	t.Helper()
	var counts map[string]int
	p := migratetest.MustBuild(t, "PRAGMA foreign_keys = off; PRAGMA journal_mode = wal;"+upstreamDDL(t, file), leaveWAL,
		func(c *sqlite3.Conn) error { counts = fillUpstream(t, c, rows); return nil })
	return p, counts
}
