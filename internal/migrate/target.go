package migrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/instruktai/teleclaude/internal/store"
)

// target is the PostgreSQL database, its schema brought to the latest
// version by the daemon's own migrations, held with the daemon's advisory
// lock so that no daemon starts on it while we fill it.
type target struct {
	store *store.Store
	conn  *pgx.Conn // the connection that copies, in one transaction
	desc  string
	// tables in the target's schema, goose's bookkeeping aside.
	tables map[string]*pgTable
}

type pgTable struct {
	name string
	cols []pgColumn
	deps []string // tables this one references
}

type pgColumn struct {
	name     string
	typ      string // information_schema data_type
	nullable bool
	hasDef   bool
	serial   bool // its default is a sequence's nextval
}

const gooseTable = "goose_db_version"

func openTarget(ctx context.Context, dsn, holder string) (_ *target, err error) {
	pc, err := pgx.ParseConfig(dsn) // its errors redact the password
	if err != nil {
		return nil, fmt.Errorf("%w: --to: bad PostgreSQL DSN: %v", ErrUsage, err)
	}
	t := &target{desc: describe(pc)}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	t.store, err = store.Open(ctx, store.Config{Engine: store.PostgreSQL, DSN: dsn}, store.WithHolder(holder))
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("target %s: %w; a daemon is using it: stop it first", t.desc, err)
	}
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if pc.ConnectTimeout == 0 {
		pc.ConnectTimeout = 10 * time.Second
	}
	pc.RuntimeParams["application_name"] = "teleclaude migrate"
	t.conn, err = pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("target %s: connect: %w", t.desc, err)
	}
	if err := t.readSchema(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

func describe(pc *pgx.ConnConfig) string {
	where := fmt.Sprintf("%s:%d", pc.Host, pc.Port)
	if strings.HasPrefix(pc.Host, "/") {
		where = "socket " + pc.Host
	}
	return fmt.Sprintf("database %s as %s at %s", pc.Database, pc.User, where)
}

// readSchema learns the tables, columns, types and foreign keys of the
// target's current schema.
func (t *target) readSchema(ctx context.Context) error {
	fail := func(err error) error { return fmt.Errorf("target %s: read its schema: %w", t.desc, err) }
	rows, err := t.conn.Query(ctx, `
		SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES',
		       c.column_default IS NOT NULL, coalesce(c.column_default LIKE 'nextval(%', false)
		FROM information_schema.columns c
		JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND tb.table_type = 'BASE TABLE' AND c.table_name <> $1
		ORDER BY c.table_name, c.ordinal_position`, gooseTable)
	if err != nil {
		return fail(err)
	}
	t.tables = map[string]*pgTable{}
	for rows.Next() {
		var tn string
		var c pgColumn
		if err := rows.Scan(&tn, &c.name, &c.typ, &c.nullable, &c.hasDef, &c.serial); err != nil {
			return fail(err)
		}
		tb := t.tables[tn]
		if tb == nil {
			tb = &pgTable{name: tn}
			t.tables[tn] = tb
		}
		tb.cols = append(tb.cols, c)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	rows, err = t.conn.Query(ctx, `
		SELECT DISTINCT cl.relname, ref.relname
		FROM pg_constraint co
		JOIN pg_class cl ON cl.oid = co.conrelid
		JOIN pg_class ref ON ref.oid = co.confrelid
		WHERE co.contype = 'f' AND cl.relnamespace = current_schema()::regnamespace`)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			return fail(err)
		}
		if tb := t.tables[from]; tb != nil && from != to {
			tb.deps = append(tb.deps, to)
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if len(t.tables) == 0 {
		return fail(errors.New("no tables after applying the migrations"))
	}
	return nil
}

// order lists the tables so that every table comes after those it
// references; ties in name order, so the order is the same every run.
func (t *target) order() ([]string, error) {
	var names []string
	for n := range t.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	done := map[string]bool{}
	var out []string
	for len(out) < len(names) {
		progress := false
		for _, n := range names {
			if done[n] {
				continue
			}
			ready := true
			for _, d := range t.tables[n].deps {
				if _, ok := t.tables[d]; ok && !done[d] {
					ready = false
				}
			}
			if ready {
				done[n] = true
				out = append(out, n)
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("target %s: the tables' foreign keys form a cycle; migrate cannot order them", t.desc)
		}
	}
	return out, nil
}

// mustBeEmpty refuses a target with any row in any of our tables.
func (t *target) mustBeEmpty(ctx context.Context) error {
	names, err := t.order()
	if err != nil {
		return err
	}
	var full []string
	for _, n := range names {
		var rows int64
		if err := t.conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{n}.Sanitize()).Scan(&rows); err != nil {
			return fmt.Errorf("target %s: count %s: %w", t.desc, n, err)
		}
		if rows > 0 {
			full = append(full, fmt.Sprintf("%s has %d rows", n, rows))
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: %s (%s); migrate only fills an empty database: give a new one (createdb), or drop this one's tables if its data is not wanted", ErrTargetNotEmpty, t.desc, strings.Join(full, ", "))
	}
	return nil
}

func (t *target) close() {
	if t.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.conn.Close(ctx)
		cancel()
	}
	if t.store != nil {
		t.store.Close()
	}
}
