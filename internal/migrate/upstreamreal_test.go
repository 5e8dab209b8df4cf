package migrate

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/ncruces/go-sqlite3"

	"github.com/instruktai/teleclaude/internal/pgtest"
)

var people = map[string]Owner{
	"ann@example.org": {Person: "Ann", UID: 5001},
	"bob@example.org": {Person: "Bob", UID: 5002},
}

func withPeople(o *Options) { o.People = people }

// checkUpstreamArrived reads every upstream table other than sessions from
// the SQLite file and from PostgreSQL's schema upstream with its own
// queries, and compares every row and value by storage class: SQLite's
// integer as bigint, text as text, real as double precision, blob as
// bytea, upstream's BOOLEAN 0/1 as boolean.
func checkUpstreamArrived(t *testing.T, src, dsn string, counts map[string]int) {
	t.Helper()
	ctx := context.Background()
	sc, err := sqlite3.OpenFlags("file:"+src+"?mode=ro", sqlite3.OPEN_READONLY|sqlite3.OPEN_URI)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	pc := pgConn(t, dsn)
	for table, n := range counts {
		if table == "sessions" {
			continue
		}
		cols := upstreamCols(t, sc, table)
		var names []string
		for _, c := range cols {
			names = append(names, quoteSQLite(c.name))
		}
		st, _, err := sc.Prepare(`SELECT ` + strings.Join(names, ", ") + ` FROM ` + quoteSQLite(table))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for st.Step() {
			var row []string
			for i := range cols {
				switch st.ColumnType(i) {
				case sqlite3.NULL:
					row = append(row, "N")
				case sqlite3.INTEGER:
					row = append(row, fmt.Sprintf("I%d", st.ColumnInt64(i)))
				case sqlite3.FLOAT:
					row = append(row, fmt.Sprintf("F%x", math.Float64bits(st.ColumnFloat(i))))
				case sqlite3.TEXT:
					row = append(row, "S"+st.ColumnText(i))
				case sqlite3.BLOB:
					row = append(row, "X"+hex.EncodeToString(st.ColumnBlob(i, nil)))
				}
			}
			want = append(want, strings.Join(row, "|"))
		}
		st.Close()
		if len(want) != n {
			t.Fatalf("%s: %d rows in SQLite, filled %d", table, len(want), n)
		}
		var qn []string
		for _, c := range cols {
			qn = append(qn, pgx.Identifier{c.name}.Sanitize())
		}
		rows, err := pc.Query(ctx, `SELECT `+strings.Join(qn, ", ")+` FROM `+pgx.Identifier{"upstream", table}.Sanitize())
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		var got []string
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			var row []string
			for _, v := range vals {
				switch v := v.(type) {
				case nil:
					row = append(row, "N")
				case int64:
					row = append(row, fmt.Sprintf("I%d", v))
				case bool:
					b := 0
					if v {
						b = 1
					}
					row = append(row, fmt.Sprintf("I%d", b))
				case float64:
					row = append(row, fmt.Sprintf("F%x", math.Float64bits(v)))
				case string:
					row = append(row, "S"+v)
				case []byte:
					row = append(row, "X"+hex.EncodeToString(v))
				default:
					t.Fatalf("%s: a %T from PostgreSQL", table, v)
				}
			}
			got = append(got, strings.Join(row, "|"))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("upstream.%s: %d rows in PostgreSQL, %d in SQLite, or values differ", table, len(got), len(want))
		}
		for _, c := range cols {
			var typ string
			if err := pc.QueryRow(ctx, `SELECT data_type FROM information_schema.columns WHERE table_schema = 'upstream' AND table_name = $1 AND column_name = $2`, table, c.name).Scan(&typ); err != nil {
				t.Fatalf("upstream.%s.%s: %v", table, c.name, err)
			}
			wantType := map[string]string{"INTEGER": "bigint", "TEXT": "text", "REAL": "double precision", "BLOB": "bytea", "NUMERIC": "text"}[affinityOf(c.typ)]
			if strings.Contains(strings.ToUpper(c.typ), "BOOL") {
				wantType = "boolean"
			}
			if typ != wantType {
				t.Errorf("upstream.%s.%s (%s): %s; want %s", table, c.name, c.typ, typ, wantType)
			}
		}
	}
}

// checkOwners: sessions whose human_email names a mapped person belong to
// that person; the rest (and all, before upstream recorded emails) to
// --owner.
func checkOwners(t *testing.T, dsn string, hasEmail bool) {
	t.Helper()
	rows, err := pgConn(t, dsn).Query(context.Background(), `SELECT owner_person, owner_uid, count(*) FROM sessions GROUP BY 1, 2 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var p string
		var uid, n int64
		if err := rows.Scan(&p, &uid, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s/%d:%d", p, uid, n))
	}
	want := []string{"mig/4242:6"}
	if hasEmail {
		want = []string{"Ann/5001:2", "Bob/5002:2", "mig/4242:2"}
	}
	if !slices.Equal(got, want) {
		t.Errorf("session owners %v; want %v", got, want)
	}
}

// TestUpstreamRealSchemas: databases made from upstream's own schema at
// three points of its history (FTS5 tables and triggers, WAL, rows still
// in the -wal) are read; the FTS5 tables and their shadow tables are
// skipped and listed; the source's directory is byte for byte as before,
// without a lock file; the digest printed is the file's own sha256sum.
func TestUpstreamRealSchemas(t *testing.T) {
	for _, sc := range upstreamSchemas {
		for _, leaveWAL := range []bool{false, true} {
			if leaveWAL && !sc.fts {
				continue // the -wal case once per FTS5 schema is enough
			}
			name := sc.name
			if leaveWAL {
				name += "/rows-in-wal"
			}
			t.Run(name, func(t *testing.T) {
				src, counts := makeUpstreamReal(t, sc.file, 6, leaveWAL)
				dir := filepath.Dir(src)
				before := dirState(t, dir)
				if leaveWAL && !strings.Contains(before, "teleclaude.db-wal") {
					t.Fatal("fixture without a -wal")
				}
				dsn := pgtest.DSN(t)
				rep, err := migrateT(t, src, dsn, withPeople)
				if err != nil {
					t.Fatalf("migrate: %v", err)
				}
				if after := dirState(t, dir); after != before {
					t.Errorf("source directory changed:\n%s\nbefore:\n%s", after, before)
				}
				if m, _ := filepath.Glob(src + ".lock"); len(m) > 0 {
					t.Errorf("lock file left beside the source: %v", m)
				}
				if rep.SourceSHA256 != fileSum(t, src) {
					t.Errorf("printed SHA-256 %s; sha256sum says %s", rep.SourceSHA256, fileSum(t, src))
				}
				var skipped []string
				for _, s := range rep.Skipped {
					skipped = append(skipped, s.Table)
				}
				var want []string
				if sc.fts {
					want = []string{"memory_observations_fts", "memory_observations_fts_config", "memory_observations_fts_data",
						"memory_observations_fts_docsize", "memory_observations_fts_idx"}
				}
				if sc.name == "head-451f0fb" {
					want = append(want, "mirrors_fts", "mirrors_fts_config", "mirrors_fts_data", "mirrors_fts_docsize", "mirrors_fts_idx")
				}
				slices.Sort(skipped)
				slices.Sort(want)
				if !slices.Equal(skipped, want) {
					t.Errorf("skipped %v; want %v", skipped, want)
				}
				var out strings.Builder
				rep.Print(&out)
				if sc.fts && !strings.Contains(out.String(), "memory_observations_fts_data") {
					t.Errorf("report does not list the skipped tables:\n%s", out.String())
				}
				if counts["sessions"] == 0 {
					t.Fatal("no sessions in the fixture")
				}
				for _, n := range rep.Notes {
					if strings.Contains(n, "new to this program") {
						t.Errorf("upstream's own schema reported as new: %s", n)
					}
				}
				checkUpstreamArrived(t, src, dsn, counts)
				checkOwners(t, dsn, sc.name != "2026-01-dd6c463")
			})
		}
	}
}
