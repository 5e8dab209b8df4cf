package migrate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// upstreamKeys reads an upstream table's primary key, unique constraints
// and indexes from SQLite's own description of them, and gives the
// PostgreSQL statements that make the same ones on the copy: they are made
// after the copy, inside the transaction (building a b-tree once is
// cheaper than growing it row by row), so a row that breaks one fails the
// migration, naming it. What cannot be said the same way in PostgreSQL
// (an index on an expression, another collation, a condition other than
// IS [NOT] NULL) is left out and listed in the report. Foreign keys are
// not made: upstream runs without foreign_keys, so its databases hold
// orphan rows that one would refuse.
func upstreamKeys(src *source, tp *tablePlan) (keys, indexes []ddl, notes []string, err error) {
	table := pgx.Identifier{UpstreamSchema, tp.name}.Sanitize()
	fail := func(what string, err error) ([]ddl, []ddl, []string, error) {
		return nil, nil, nil, fmt.Errorf("source %s: %s of %s: %w", src.path, what, tp.name, explainSQLite(err))
	}

	// The primary key, by pragma_table_info's pk order. SQLite lets a
	// key column other than an INTEGER PRIMARY KEY hold NULL, which
	// PostgreSQL's primary key does not: a key with a NULL in the data is
	// made a unique constraint instead, and said so.
	pk, err := src.strings(`SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, tp.name)
	if err != nil {
		return fail("primary key", err)
	}
	if len(pk) > 0 {
		var cond []string
		for _, c := range pk {
			cond = append(cond, quoteSQLite(c)+` IS NULL`)
		}
		n, err := src.strings(`SELECT count(*) FROM ` + quoteSQLite(tp.name) + ` WHERE ` + strings.Join(cond, " OR "))
		if err != nil {
			return fail("primary key", err)
		}
		def := "PRIMARY KEY (" + pgColumns(pk) + ")"
		if len(n) == 1 && n[0] != "0" {
			def = "UNIQUE (" + pgColumns(pk) + ")"
			notes = append(notes, fmt.Sprintf("primary key (%s) made UNIQUE: %s rows have a NULL in it, which SQLite allows", strings.Join(pk, ", "), n[0]))
		}
		keys = append(keys, ddl{table: table, name: tp.name + "_pkey", def: def, upstream: true, report: tp.report})
	}

	st, _, err := src.conn.Prepare(`SELECT l.name, l."unique", l.origin, s.sql FROM pragma_index_list(?) l
		LEFT JOIN sqlite_schema s ON s.type = 'index' AND s.name = l.name ORDER BY l.name`)
	if err != nil {
		return fail("indexes", err)
	}
	st.BindText(1, tp.name)
	type idx struct {
		name, origin, sql string
		unique            bool
	}
	var list []idx
	for st.Step() {
		list = append(list, idx{name: st.ColumnText(0), unique: st.ColumnInt(1) == 1, origin: st.ColumnText(2), sql: st.ColumnText(3)})
	}
	err = st.Err()
	st.Close()
	if err != nil {
		return fail("indexes", err)
	}
	for _, ix := range list {
		if ix.origin == "pk" {
			continue // made above
		}
		cols, why, err := indexColumns(src, ix.name)
		if err != nil {
			return fail("index "+ix.name, err)
		}
		var where string
		if why == "" && ix.origin == "c" {
			where, why = indexWhere(ix.sql)
		}
		if why != "" {
			notes = append(notes, fmt.Sprintf("index %s not made: %s", ix.name, why))
			continue
		}
		if ix.origin == "u" {
			// A UNIQUE in the table's definition: SQLite names its index
			// sqlite_autoindex_*; PostgreSQL's own naming is used.
			var names []string
			for _, c := range cols {
				names = append(names, c.name)
			}
			keys = append(keys, ddl{table: table, name: tp.name + "_" + strings.Join(names, "_") + "_key", def: "UNIQUE (" + pgColumns(names) + ")", upstream: true, report: tp.report})
			continue
		}
		var parts []string
		for _, c := range cols {
			p := pgx.Identifier{c.name}.Sanitize()
			if c.desc {
				p += " DESC"
			}
			parts = append(parts, p)
		}
		def := "CREATE INDEX "
		if ix.unique {
			def = "CREATE UNIQUE INDEX "
		}
		def += pgx.Identifier{ix.name}.Sanitize() + " ON " + table + " (" + strings.Join(parts, ", ") + ")" + where
		indexes = append(indexes, ddl{table: table, name: ix.name, def: def, upstream: true, report: tp.report})
	}
	return keys, indexes, notes, nil
}

type indexCol struct {
	name string
	desc bool
}

// indexColumns lists an index's key columns, or says why PostgreSQL
// cannot have the same index.
func indexColumns(src *source, index string) ([]indexCol, string, error) {
	st, _, err := src.conn.Prepare(`SELECT cid, name, "desc", coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`)
	if err != nil {
		return nil, "", err
	}
	defer st.Close()
	st.BindText(1, index)
	var cols []indexCol
	for st.Step() {
		switch {
		case st.ColumnInt(0) < 0:
			return nil, "it indexes an expression or the rowid", nil
		case !strings.EqualFold(st.ColumnText(3), "BINARY"):
			return nil, "it uses the collation " + st.ColumnText(3), nil
		}
		cols = append(cols, indexCol{name: st.ColumnText(1), desc: st.ColumnInt(2) == 1})
	}
	return cols, "", st.Err()
}

// A partial index's condition that reads the same in both dialects.
var (
	whereClause = regexp.MustCompile(`(?is)\bWHERE\s+(.+?)\s*;?\s*$`)
	nullTest    = regexp.MustCompile(`(?i)^\s*([A-Za-z_][A-Za-z0-9_]*)\s+IS\s+(NOT\s+)?NULL\s*$`)
)

// indexWhere gives the WHERE of a partial index for PostgreSQL, or why it
// is not carried.
func indexWhere(sql string) (where, why string) {
	m := whereClause.FindStringSubmatch(sql)
	if m == nil {
		return "", ""
	}
	var conds []string
	for _, part := range regexp.MustCompile(`(?i)\s+AND\s+`).Split(m[1], -1) {
		t := nullTest.FindStringSubmatch(part)
		if t == nil {
			return "", fmt.Sprintf("its condition %q is not one migrate translates", m[1])
		}
		c := pgx.Identifier{t[1]}.Sanitize() + " IS NULL"
		if t[2] != "" {
			c = pgx.Identifier{t[1]}.Sanitize() + " IS NOT NULL"
		}
		conds = append(conds, c)
	}
	return " WHERE " + strings.Join(conds, " AND "), ""
}

func pgColumns(cols []string) string {
	var q []string
	for _, c := range cols {
		q = append(q, pgx.Identifier{c}.Sanitize())
	}
	return strings.Join(q, ", ")
}
