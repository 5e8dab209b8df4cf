package migrate

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/instruktai/teleclaude/internal/migrate/migratetest"
	"github.com/instruktai/teleclaude/internal/pgtest"
)

// TestUpstreamKeysAndIndexes: every table copied into the schema upstream
// from upstream's HEAD schema gets its primary key, its unique constraints
// and its indexes (same names, columns, order, uniqueness and partial
// condition), read here from SQLite and PostgreSQL with our own queries;
// the FTS5 tables get none, and the keys hold: a duplicate is refused.
func TestUpstreamKeysAndIndexes(t *testing.T) {
	src, _ := makeUpstreamReal(t, migratetest.Head, 6, false)
	dsn := pgtest.DSN(t)
	rep, err := migrateT(t, src, dsn, withPeople)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	// An index over a column that holds the fixture's 1 MiB text cannot
	// be a PostgreSQL b-tree: it is left out, and the report says so.
	notMade := map[string]bool{}
	for _, n := range rep.Notes {
		if _, after, ok := strings.Cut(n, ": "); ok && strings.Contains(after, " not made: ") {
			notMade[strings.Fields(after)[0]] = true
		}
	}
	built, primary := 0, 0
	sc, err := sqlite3.OpenFlags("file:"+src+"?mode=ro", sqlite3.OPEN_READONLY|sqlite3.OPEN_URI)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	ctx := context.Background()
	pc := pgConn(t, dsn)

	// What PostgreSQL has: per table, its primary key's columns, its
	// unique constraints' columns, and its other indexes by name.
	type pgIndex struct{ table, def string }
	pgIdx := map[string]pgIndex{}
	rows, err := pc.Query(ctx, `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'upstream'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tb, name, def string
		if err := rows.Scan(&tb, &name, &def); err != nil {
			t.Fatal(err)
		}
		pgIdx[name] = pgIndex{tb, def}
	}
	rows.Close()
	pgCons := map[string][]string{} // "table p|u" → column lists
	rows, err = pc.Query(ctx, `SELECT c.conrelid::regclass::text, c.contype::text,
		(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(att, n)
		 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att)
		FROM pg_constraint c JOIN pg_namespace ns ON ns.oid = c.connamespace WHERE ns.nspname = 'upstream'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tb, typ, cols string
		if err := rows.Scan(&tb, &typ, &cols); err != nil {
			t.Fatal(err)
		}
		tb = strings.TrimPrefix(tb, "upstream.")
		pgCons[tb+" "+typ] = append(pgCons[tb+" "+typ], cols)
	}
	rows.Close()

	tables := queryStrings(t, sc, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND name != 'sessions' AND name NOT LIKE '%_fts%' ORDER BY name`)
	made := 0
	for _, tb := range tables {
		pk := strings.Join(queryStrings(t, sc, `SELECT name FROM pragma_table_info('`+tb+`') WHERE pk > 0 ORDER BY pk`), ",")
		if pk != "" && !notMade[tb+"_pkey"] {
			built++
			made++
			// SQLite lets a key column hold NULL (the fixture puts one
			// in every nullable column): such a key is a unique
			// constraint in PostgreSQL, and the report says so.
			var cond []string
			for _, c := range strings.Split(pk, ",") {
				cond = append(cond, `"`+c+`" IS NULL`)
			}
			nulls := queryStrings(t, sc, `SELECT count(*) FROM "`+tb+`" WHERE `+strings.Join(cond, " OR "))[0] != "0"
			noted := slices.ContainsFunc(rep.Notes, func(n string) bool {
				return strings.HasPrefix(n, "upstream."+tb+": primary key") && strings.Contains(n, "made UNIQUE")
			})
			switch got := pgCons[tb+" p"]; {
			case nulls && (!noted || !slices.Contains(pgCons[tb+" u"], pk) || got != nil):
				t.Errorf("%s: key (%s) with NULLs: primary %v, unique %v, noted %v; want a noted unique constraint", tb, pk, got, pgCons[tb+" u"], noted)
			case !nulls && !slices.Equal(got, []string{pk}):
				t.Errorf("%s: primary key %v in PostgreSQL; SQLite's is (%s)", tb, got, pk)
			case !nulls:
				primary++
			}
		}
		for _, ix := range queryStrings(t, sc, `SELECT name || '|' || "unique" || '|' || origin || '|' || partial FROM pragma_index_list('`+tb+`') WHERE origin != 'pk'`) {
			f := strings.Split(ix, "|")
			cols := queryStrings(t, sc, `SELECT name || CASE WHEN "desc" THEN ' DESC' ELSE '' END FROM pragma_index_xinfo('`+f[0]+`') WHERE key = 1 ORDER BY seqno`)
			made++
			if f[2] == "u" {
				var plain []string
				for _, c := range cols {
					plain = append(plain, strings.TrimSuffix(c, " DESC"))
				}
				if notMade[tb+"_"+strings.Join(plain, "_")+"_key"] {
					continue
				}
				built++
				if !slices.Contains(pgCons[tb+" u"], strings.Join(plain, ",")) {
					t.Errorf("%s: no unique constraint on (%s) in PostgreSQL: %v", tb, strings.Join(plain, ","), pgCons[tb+" u"])
				}
				continue
			}
			if notMade[f[0]] {
				continue
			}
			built++
			got, ok := pgIdx[f[0]]
			if !ok || got.table != tb {
				t.Errorf("index %s of %s missing in PostgreSQL", f[0], tb)
				continue
			}
			want := "(" + strings.Join(cols, ", ") + ")"
			if !strings.Contains(got.def, want) || strings.Contains(got.def, "UNIQUE") != (f[1] == "1") || strings.Contains(got.def, "WHERE") != (f[3] == "1") {
				t.Errorf("index %s: %s; want columns %s, unique %s, partial %s", f[0], got.def, want, f[1], f[3])
			}
		}
	}
	if made < 30 || built < 15 || primary < 5 {
		t.Errorf("%d keys and indexes in SQLite, %d checked in PostgreSQL (left out: %v): the fixture lost its schema?", made, built, notMade)
	}
	t.Logf("%d keys and indexes (%d primary keys as such), %d made and checked, left out (too big for a b-tree): %v", made, primary, built, notMade)
	for name, ix := range pgIdx {
		if strings.Contains(ix.table, "fts") {
			t.Errorf("index %s made on the FTS5 table %s", name, ix.table)
		}
	}
	if d := pgIdx["idx_inbound_queue_source_dedup"].def; !strings.Contains(d, "WHERE (source_message_id IS NOT NULL)") {
		t.Errorf("partial unique index: %s", d)
	}
	// The keys hold in the copy.
	if _, err := pc.Exec(ctx, `INSERT INTO upstream.system_settings (key, value) SELECT key, value FROM upstream.system_settings LIMIT 1`); err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Errorf("a duplicate system_settings key was accepted: %v", err)
	}
}
