package migrate

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/ncruces/go-sqlite3"
)

// tablePlan says how one target table is filled.
type tablePlan struct {
	schema string // "" for ours; UpstreamSchema for upstream's tables
	name   string
	create string    // DDL that makes the table first, for upstream's
	raw    []*rawCol // upstream's: the source's columns, copied as they are
	// verifyRow, when set, renders a row read back from the target for
	// the checksum (instead of appendCanonRaw per column).
	verifyRow func(buf []byte, raw [][]byte) ([]byte, error)
	cols      []*colPlan // the target's columns, in COPY order
	total     int64      // rows the source has for it
	// open starts reading the source's rows, converted.
	open func() (rowReader, error)
	// keys and indexes are made after the copy (upstream's tables).
	keys, indexes []ddl
	// seqFloor is the lowest value the table's sequence may be reset to
	// (SQLite's sqlite_sequence remembers ids of deleted rows).
	seqFloor int64
	report   *TableReport
}

type colPlan struct {
	name   string
	pgType string
	kind   kind
	fs     forms
	report *ColumnReport
}

// ident is the table's name for PostgreSQL, schema-qualified if need be.
func (tp *tablePlan) ident() pgx.Identifier {
	if tp.schema != "" {
		return pgx.Identifier{tp.schema, tp.name}
	}
	return pgx.Identifier{tp.name}
}

// canonReader is a rowReader that renders the checksum of its row itself,
// from the source's values as read.
type canonReader interface {
	canonRow(buf []byte) ([]byte, error)
}

// rowReader yields the source's rows for one target table, converted into
// the values COPY sends, in the plan's column order.
type rowReader interface {
	next() (bool, error)
	values() []any
	close()
}

// internalTable reports whether a SQLite table is bookkeeping, not data.
func internalTable(name string) bool {
	return name == gooseTable || name == "sqlite_sequence" || strings.HasPrefix(name, "sqlite_stat")
}

func plan(ctx context.Context, src *source, tgt *target, o Options, rep *Report) ([]*tablePlan, error) {
	order, err := tgt.order()
	if err != nil {
		return nil, err
	}
	var plans []*tablePlan
	for _, name := range order {
		tp, err := targetPlan(tgt, name)
		if err != nil {
			return nil, err
		}
		plans = append(plans, tp)
	}
	if src.kind == KindUpstream {
		err = planUpstream(src, plans, o, rep)
		if err == nil {
			var up []*tablePlan
			up, err = planUpstreamTables(src, o, rep)
			plans = append(plans, up...)
		}
	} else {
		err = planOurs(src, plans, o, rep)
	}
	if err != nil {
		return nil, err
	}
	for _, tp := range plans {
		rep.Tables = append(rep.Tables, tp.report)
	}
	return plans, nil
}

// targetPlan lists the columns of a target table with their conversions;
// a type without one fails here, before anything is copied.
func targetPlan(tgt *target, name string) (*tablePlan, error) {
	tb := tgt.tables[name]
	tp := &tablePlan{name: name, report: &TableReport{Name: name}}
	var unknown []string
	for _, c := range tb.cols {
		k, ok := kindOf(c.typ)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%s.%s (%s)", name, c.name, c.typ))
			continue
		}
		cr := &ColumnReport{To: c.name, Type: c.typ}
		tp.report.Columns = append(tp.report.Columns, cr)
		tp.cols = append(tp.cols, &colPlan{name: c.name, pgType: c.typ, kind: k, report: cr})
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("the target's schema has columns of types migrate cannot convert: %s (teach internal/migrate/convert.go)", strings.Join(unknown, ", "))
	}
	return tp, nil
}

// planOurs maps our own schema one to one: the same tables and the same
// columns on both sides, or the migration stops and says what differs.
func planOurs(src *source, plans []*tablePlan, o Options, rep *Report) error {
	var want []string
	for _, tp := range plans {
		want = append(want, tp.name)
	}
	var have []string
	for _, t := range src.tables {
		if !internalTable(t) {
			have = append(have, t)
		}
	}
	if d := diff(want, have); d != "" {
		return fmt.Errorf("the source's tables differ from the target's at the same schema version (%s): the two dialects' migrations are out of step", d)
	}
	floors, err := sqliteSequences(src)
	if err != nil {
		return err
	}
	for _, tp := range plans {
		srcCols, err := src.columns(tp.name)
		if err != nil {
			return err
		}
		var tcols []string
		for _, c := range tp.cols {
			tcols = append(tcols, c.name)
			c.report.From = c.name
			c.report.Action = c.kind.action()
		}
		if d := diff(tcols, srcCols); d != "" {
			return fmt.Errorf("table %s: the source's columns differ from the target's at the same schema version (%s): the two dialects' migrations are out of step", tp.name, d)
		}
		if tp.total, err = src.count(tp.name); err != nil {
			return err
		}
		tp.seqFloor = floors[tp.name]
		var hook func([]any)
		if tp.name == "sessions" {
			if hook, err = ownerHook(src, tp, o, rep); err != nil {
				return err
			}
		}
		tp.open = genericReader(src, tp, o, rep, hook)
	}
	return nil
}

// diff describes how two sets of names differ, "" when they do not.
func diff(target, source []string) string {
	var out []string
	for _, n := range target {
		if !slices.Contains(source, n) {
			out = append(out, n+" only in PostgreSQL")
		}
	}
	for _, n := range source {
		if !slices.Contains(target, n) {
			out = append(out, n+" only in SQLite")
		}
	}
	return strings.Join(out, ", ")
}

func sqliteSequences(src *source) (map[string]int64, error) {
	floors := map[string]int64{}
	if !slices.Contains(src.tables, "sqlite_sequence") {
		return floors, nil
	}
	st, _, err := src.conn.Prepare(`SELECT name, seq FROM sqlite_sequence`)
	if err != nil {
		return nil, fmt.Errorf("source %s: read sqlite_sequence: %w", src.path, explainSQLite(err))
	}
	defer st.Close()
	for st.Step() {
		floors[st.ColumnText(0)] = st.ColumnInt64(1)
	}
	if err := st.Err(); err != nil {
		return nil, fmt.Errorf("source %s: read sqlite_sequence: %w", src.path, explainSQLite(err))
	}
	return floors, nil
}

// ownerHook gives sessions without an owner uid to the migrating user.
func ownerHook(src *source, tp *tablePlan, o Options, rep *Report) (func([]any), error) {
	person, uid := slices.IndexFunc(tp.cols, func(c *colPlan) bool { return c.name == "owner_person" }),
		slices.IndexFunc(tp.cols, func(c *colPlan) bool { return c.name == "owner_uid" })
	if person < 0 || uid < 0 {
		return nil, fmt.Errorf("table sessions has no owner_person or owner_uid column: migrate's owner rule needs updating")
	}
	ns, err := src.strings(`SELECT count(*) FROM sessions WHERE owner_uid IS NULL`)
	if err != nil || len(ns) != 1 {
		return nil, fmt.Errorf("source %s: count unowned sessions: %v", src.path, explainSQLite(err))
	}
	if ns[0] == "0" {
		return nil, nil
	}
	if o.Owner == nil {
		return nil, fmt.Errorf("%w: %s sessions have no owner; give --owner USER to say who receives them", ErrUsage, ns[0])
	}
	note := fmt.Sprintf("; sessions without an owner uid given to %s (uid %d)", o.Owner.Person, o.Owner.UID)
	tp.cols[person].report.Action += note
	tp.cols[uid].report.Action += note
	return func(vals []any) {
		if vals[uid] != nil {
			return
		}
		vals[uid] = o.Owner.UID
		if vals[person] == nil {
			vals[person] = o.Owner.Person
		}
		rep.OwnerAssigned++
	}, nil
}

// sqlReader reads a source table column for column.
type sqlReader struct {
	src    *source
	table  string
	st     *sqlite3.Stmt
	cols   []*colPlan
	vals   []any
	row    []value // the row as SQLite holds it (its bytes valid until the next step)
	hook   func([]any)
	canon  []byte
	lossy  []bool
	rep    *Report
	mangle func(table, column string, v any) any
}

func genericReader(src *source, tp *tablePlan, o Options, rep *Report, hook func([]any)) func() (rowReader, error) {
	return func() (rowReader, error) {
		var names []string
		for _, c := range tp.cols {
			names = append(names, quoteSQLite(c.name))
		}
		// rowid last, to name a row in an error.
		q := `SELECT ` + strings.Join(names, ", ") + `, _rowid_ FROM ` + quoteSQLite(tp.name)
		st, _, err := src.conn.Prepare(q)
		if err != nil {
			return nil, fmt.Errorf("source %s: read %s: %w", src.path, tp.name, explainSQLite(err))
		}
		return &sqlReader{src: src, table: tp.name, st: st, cols: tp.cols, vals: make([]any, len(tp.cols)), row: make([]value, len(tp.cols)), lossy: make([]bool, len(tp.cols)), hook: hook, rep: rep, mangle: o.mangle}, nil
	}
}

func (r *sqlReader) next() (bool, error) {
	if !r.st.Step() {
		if err := r.st.Err(); err != nil {
			return false, fmt.Errorf("source %s: read %s: %w", r.src.path, r.table, explainSQLite(err))
		}
		return false, nil
	}
	var filled []bool
	if r.hook != nil {
		filled = make([]bool, len(r.cols))
	}
	for i, c := range r.cols {
		lossy := lossyCount(&c.fs)
		sv := readValue(r.st, i)
		r.row[i] = sv
		v, err := convert(c.kind, sv, &c.fs)
		if err != nil {
			return false, fmt.Errorf("source %s: table %s, row with rowid %d, column %s: %w", r.src.path, r.table, r.st.ColumnInt64(len(r.cols)), c.name, err)
		}
		r.lossy[i] = lossyCount(&c.fs) != lossy
		if r.lossy[i] {
			// Carried in its nearest form, as the daemon itself stores
			// such a value: listed, and compared as carried.
			r.rep.addCoercion(Coercion{Table: r.table, Row: strconv.FormatInt(r.st.ColumnInt64(len(r.cols)), 10), Column: c.name,
				From: describeValue(sv), To: describeAny(v)})
		}
		if r.mangle != nil {
			v = r.mangle(r.table, c.name, v)
		}
		r.vals[i] = v
		if filled != nil {
			filled[i] = v == nil
		}
	}
	if r.hook != nil {
		r.hook(r.vals)
		for i := range filled {
			filled[i] = filled[i] && r.vals[i] != nil
		}
	}
	// The source side of the checksum: each value as SQLite holds it,
	// except a value listed as carried in its nearest form, or filled in
	// by the owner rule (counted in the report), which is rendered as
	// carried.
	r.canon = r.canon[:0]
	for i, c := range r.cols {
		var err error
		if r.lossy[i] || (filled != nil && filled[i]) {
			if r.canon, err = appendCanon(r.canon, c.kind, r.vals[i]); err != nil {
				return false, err
			}
			continue
		}
		r.canon = appendSourceCanon(r.canon, c.kind, r.row[i])
	}
	return true, nil
}

// canonRow is the checksum's rendering of the row as the source holds it.
func (r *sqlReader) canonRow(buf []byte) ([]byte, error) { return append(buf, r.canon...), nil }

func (r *sqlReader) values() []any { return r.vals }
func (r *sqlReader) close()        { r.st.Close() }

// emptyReader stands for a table the source has nothing for.
type emptyReader struct{}

func (emptyReader) next() (bool, error) { return false, nil }
func (emptyReader) values() []any       { return nil }
func (emptyReader) close()              {}
