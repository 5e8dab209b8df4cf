package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// transfer copies every table in one transaction, verifies the copy inside
// it, resets the sequences, proves the source unchanged, and commits. Any
// failure before the commit rolls everything back; a dead process or
// server rolls back by itself.
func transfer(ctx context.Context, o Options, src *source, tgt *target, plans []*tablePlan, rep *Report) (err error) {
	tx, err := tgt.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("target %s: begin: %w", tgt.desc, err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tx.Rollback(rctx) // a dead connection rolled back already
		if err != nil {
			err = fmt.Errorf("%w\nnothing was committed: the target has no rows, and the source was only read", err)
		}
	}()
	if err := createUpstream(ctx, tx, tgt, plans); err != nil {
		return err
	}
	deferred, err := dropIndexes(ctx, tx, plans)
	if err != nil {
		return err
	}
	for _, tp := range plans {
		if err := copyTable(ctx, o, tx, tp); err != nil {
			return err
		}
	}
	src.startAfterHash()
	// Sorting a million keys in 64 MB (PostgreSQL's default) spills to
	// disk; this transaction's index builds may use more.
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
		return fmt.Errorf("target %s: %w", tgt.desc, explainPG(err))
	}
	if err := deferred.rebuild(ctx, tx, o, rep); err != nil {
		return err
	}
	for _, tp := range plans {
		if err := verifyTable(ctx, o, tx, tp); err != nil {
			return err
		}
	}
	if err := resetSequences(ctx, tx, tgt, plans, rep); err != nil {
		return err
	}
	if err := src.verifyUnchanged(); err != nil {
		return err
	}
	rep.SourceSHA256 = src.hash
	if err := tx.Commit(ctx); err != nil {
		// The server may have committed before the connection failed.
		committed = true
		return fmt.Errorf("target %s: commit: %w\nwhether the commit happened is unknown: count the rows of the target; if it has any, the migration is complete (a re-run refuses a target with rows)", tgt.desc, explainPG(err))
	}
	committed = true
	rep.OK = true
	return nil
}

// createUpstream makes the upstream schema and its tables inside the
// transaction, so that a failure leaves neither behind.
func createUpstream(ctx context.Context, tx pgx.Tx, tgt *target, plans []*tablePlan) error {
	made := false
	for _, tp := range plans {
		if tp.schema == "" {
			continue
		}
		if !made {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{tp.schema}.Sanitize()); err != nil {
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "42501" {
					return fmt.Errorf("target %s: cannot create the schema %q for upstream's other tables: %w; grant it (GRANT CREATE ON DATABASE ... TO ...) or run migrate as the database's owner", tgt.desc, tp.schema, explainPG(err))
				}
				if errors.As(err, &pe) && pe.Code == "42P06" {
					return fmt.Errorf("%w: %s already has a schema %q (from an earlier migration?): drop it (DROP SCHEMA %s CASCADE) if its data is not wanted", ErrTargetNotEmpty, tgt.desc, tp.schema, tp.schema)
				}
				return fmt.Errorf("target %s: create schema %s: %w", tgt.desc, tp.schema, explainPG(err))
			}
			made = true
		}
		if _, err := tx.Exec(ctx, tp.create); err != nil {
			return fmt.Errorf("target %s: create %s: %w", tgt.desc, tp.report.Name, explainPG(err))
		}
	}
	return nil
}

// copySource feeds one batch of converted rows to pgx's COPY, checksumming
// each row as it goes.
type copySource struct {
	rd    rowReader
	cols  []*colPlan
	left  int
	done  bool
	err   error
	rows  int64
	sum   checksum
	buf   []byte
	onRow func(n int64)
}

func (c *copySource) Next() bool {
	if c.done || c.left <= 0 || c.err != nil {
		return false
	}
	ok, err := c.rd.next()
	if err != nil {
		c.err = err
		return false
	}
	if !ok {
		c.done = true
		return false
	}
	c.buf = c.buf[:0]
	if cr, ok := c.rd.(canonReader); ok {
		if c.buf, err = cr.canonRow(c.buf); err != nil {
			c.err = err
			return false
		}
	} else {
		for i, v := range c.rd.values() {
			if c.buf, err = appendCanon(c.buf, c.cols[i].kind, v); err != nil {
				c.err = err
				return false
			}
		}
	}
	c.sum.addRow(c.buf)
	c.rows++
	c.left--
	if c.onRow != nil {
		c.onRow(c.rows)
	}
	return true
}

func (c *copySource) Values() ([]any, error) { return c.rd.values(), nil }
func (c *copySource) Err() error             { return c.err }

func copyTable(ctx context.Context, o Options, tx pgx.Tx, tp *tablePlan) error {
	rd, err := tp.open()
	if err != nil {
		return err
	}
	defer rd.close()
	var names []string
	for _, c := range tp.cols {
		names = append(names, c.name)
	}
	var tick time.Time // the first report comes at once
	cs := &copySource{rd: rd, cols: tp.cols, onRow: func(n int64) {
		if o.afterRows != nil {
			o.afterRows(tp.name, n)
		}
		if o.Progress != nil && n%4096 == 0 && time.Since(tick) > 100*time.Millisecond {
			tick = time.Now()
			o.Progress(Progress{Phase: "copy", Table: tp.name, Done: n, Total: tp.total})
		}
	}}
	for !cs.done {
		cs.left = o.Batch
		_, err := tx.CopyFrom(ctx, tp.ident(), names, cs)
		if cs.err != nil {
			return fmt.Errorf("copy %s: %w", tp.name, cs.err)
		}
		if err != nil {
			return fmt.Errorf("copy %s into the target: %w", tp.name, explainPG(err))
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("copy %s: %w", tp.name, err)
		}
	}
	if o.Progress != nil {
		o.Progress(Progress{Phase: "copy", Table: tp.name, Done: cs.rows, Total: tp.total})
	}
	r := tp.report
	r.SourceRows, r.SourceChecksum = cs.rows, cs.sum.String()
	for _, c := range tp.cols {
		c.report.Forms = c.fs.report()
	}
	if cs.rows != tp.total {
		return fmt.Errorf("%w: %s: counted %d rows in the source but read %d", ErrVerify, tp.name, tp.total, cs.rows)
	}
	return nil
}

// explainPG adds what an admin should know to errors from the server:
// its detail and where (which row of which COPY), and what a lost
// connection or a full disk means.
func explainPG(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		var more []string
		for _, s := range []string{pe.Detail, pe.Where, pe.Hint} {
			if s != "" {
				more = append(more, s)
			}
		}
		if len(more) > 0 {
			err = fmt.Errorf("%w (%s)", err, strings.Join(more, "; "))
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unexpected EOF"), strings.Contains(msg, "connection reset"), strings.Contains(msg, "broken pipe"),
		strings.Contains(msg, "terminating connection"), strings.Contains(msg, "conn closed"):
		return fmt.Errorf("the connection to PostgreSQL was lost (server stopped or restarted?): %w", err)
	case strings.Contains(msg, "No space left"), strings.Contains(msg, "could not extend file"):
		return fmt.Errorf("the PostgreSQL server's disk is full: %w", err)
	}
	return err
}

// verifyTable reads the table back from the target inside the transaction
// and compares its row count and checksum with the source's.
func verifyTable(ctx context.Context, o Options, tx pgx.Tx, tp *tablePlan) error {
	var names []string
	for _, c := range tp.cols {
		names = append(names, pgx.Identifier{c.name}.Sanitize())
	}
	rows, err := tx.Query(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+tp.ident().Sanitize(),
		pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		return fmt.Errorf("verify %s: %w", tp.name, explainPG(err))
	}
	defer rows.Close()
	var (
		sum  checksum
		n    int64
		buf  []byte
		tick = time.Now()
	)
	for rows.Next() {
		buf = buf[:0]
		if tp.verifyRow != nil {
			if buf, err = tp.verifyRow(buf, rows.RawValues()); err != nil {
				return fmt.Errorf("verify %s: %w", tp.report.Name, err)
			}
		}
		for i, raw := range rows.RawValues() {
			if tp.verifyRow != nil {
				break
			}
			c := tp.cols[i]
			if buf, err = appendCanonRaw(buf, c.kind, c.pgType, raw); err != nil {
				return fmt.Errorf("verify %s.%s: %w", tp.name, c.name, err)
			}
		}
		sum.addRow(buf)
		n++
		if o.Progress != nil && n%4096 == 0 && time.Since(tick) > 100*time.Millisecond {
			tick = time.Now()
			o.Progress(Progress{Phase: "verify", Table: tp.name, Done: n, Total: tp.total})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("verify %s: %w", tp.name, explainPG(err))
	}
	r := tp.report
	r.TargetRows, r.TargetChecksum = n, sum.String()
	if n != r.SourceRows {
		return fmt.Errorf("%w: %s: %d rows sent, %d in the target", ErrVerify, tp.name, r.SourceRows, n)
	}
	if r.TargetChecksum != r.SourceChecksum {
		return fmt.Errorf("%w: %s: checksum %s of the rows sent, %s of the rows in the target", ErrVerify, tp.name, r.SourceChecksum, r.TargetChecksum)
	}
	r.Verified = true
	return nil
}

// resetSequences sets each serial column's sequence past the highest id
// copied (or that SQLite ever handed out), so the daemon's next row does
// not collide and no id is reused. setval is not undone by a rollback, so
// it comes last; a failed migration may leave a sequence advanced on an
// otherwise empty target, which costs nothing but skipped ids.
func resetSequences(ctx context.Context, tx pgx.Tx, tgt *target, plans []*tablePlan, rep *Report) error {
	for _, tp := range plans {
		if tp.schema != "" {
			continue // upstream's tables: no sequences
		}
		for _, c := range tgt.tables[tp.name].cols {
			if !c.serial {
				continue
			}
			var seq *string
			if err := tx.QueryRow(ctx, `SELECT pg_get_serial_sequence($1, $2)`, pgx.Identifier{tp.name}.Sanitize(), c.name).Scan(&seq); err != nil {
				return fmt.Errorf("sequence of %s.%s: %w", tp.name, c.name, explainPG(err))
			}
			if seq == nil {
				continue
			}
			var top int64
			if err := tx.QueryRow(ctx, `SELECT coalesce(max(`+pgx.Identifier{c.name}.Sanitize()+`), 0)::bigint FROM `+pgx.Identifier{tp.name}.Sanitize()).Scan(&top); err != nil {
				return fmt.Errorf("sequence of %s.%s: %w", tp.name, c.name, explainPG(err))
			}
			// setval(seq, n, true): the next id is n+1; an empty table
			// starts at 1.
			top = max(top, tp.seqFloor)
			next, q := top+1, `SELECT setval($1, $2, true)`
			if top == 0 {
				next, q, top = 1, `SELECT setval($1, $2, false)`, 1
			}
			if _, err := tx.Exec(ctx, q, *seq, top); err != nil {
				return fmt.Errorf("reset sequence %s: %w", *seq, explainPG(err))
			}
			rep.Sequences = append(rep.Sequences, SequenceReport{Sequence: *seq, Table: tp.name, Column: c.name, Next: next})
		}
	}
	return nil
}

var _ pgx.CopyFromSource = (*copySource)(nil)

// deferredIndexes are the keys, unique constraints, indexes and foreign
// keys of the tables being filled, dropped inside the transaction before
// COPY and rebuilt, with the same names and definitions, after it: a
// million rows checked against a foreign key one by one and inserted into
// three b-trees one by one take several times longer than building the
// b-trees once by sorting and checking the foreign key with one join. A
// rollback restores them with everything else. CHECK and NOT NULL
// constraints stay in force during COPY, and the audit log's triggers are
// never touched.
type deferredIndexes struct {
	keys, indexes, foreign []ddl
}

type ddl struct {
	table, name, def string
	// upstream marks a key or index of an upstream table: one that
	// PostgreSQL cannot hold is left out and said so, not fatal.
	upstream bool
	report   *TableReport
}

func dropIndexes(ctx context.Context, tx pgx.Tx, plans []*tablePlan) (*deferredIndexes, error) {
	d := &deferredIndexes{}
	var upKeys, upIndexes []ddl
	for _, tp := range plans {
		if tp.schema != "" {
			// Made bare in this transaction: its keys and indexes come
			// after the copy, from the source's.
			upKeys = append(upKeys, tp.keys...)
			upIndexes = append(upIndexes, tp.indexes...)
			continue
		}
		tbl := pgx.Identifier{tp.name}.Sanitize()
		rows, err := tx.Query(ctx, `SELECT conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname`, tbl)
		if err != nil {
			return nil, fmt.Errorf("read the constraints of %s: %w", tp.name, explainPG(err))
		}
		for rows.Next() {
			var c ddl
			var typ string
			if err := rows.Scan(&c.name, &typ, &c.def); err != nil {
				return nil, fmt.Errorf("read the constraints of %s: %w", tp.name, err)
			}
			c.table = tbl
			if typ == "f" {
				d.foreign = append(d.foreign, c)
			} else {
				d.keys = append(d.keys, c)
			}
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read the constraints of %s: %w", tp.name, explainPG(err))
		}
		rows, err = tx.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
			WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
			ORDER BY 1`, tbl)
		if err != nil {
			return nil, fmt.Errorf("read the indexes of %s: %w", tp.name, explainPG(err))
		}
		for rows.Next() {
			c := ddl{table: tbl}
			if err := rows.Scan(&c.name, &c.def); err != nil {
				return nil, fmt.Errorf("read the indexes of %s: %w", tp.name, err)
			}
			d.indexes = append(d.indexes, c)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read the indexes of %s: %w", tp.name, explainPG(err))
		}
	}
	// Foreign keys first: they depend on the keys they reference.
	for _, c := range d.foreign {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+c.table+` DROP CONSTRAINT `+pgx.Identifier{c.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("set aside foreign key %s: %w", c.name, explainPG(err))
		}
	}
	for _, c := range d.keys {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+c.table+` DROP CONSTRAINT `+pgx.Identifier{c.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("set aside constraint %s: %w", c.name, explainPG(err))
		}
	}
	for _, c := range d.indexes {
		if _, err := tx.Exec(ctx, `DROP INDEX `+c.name); err != nil { // regclass text: already quoted
			return nil, fmt.Errorf("set aside index %s: %w", c.name, explainPG(err))
		}
	}
	d.keys = append(d.keys, upKeys...)
	d.indexes = append(d.indexes, upIndexes...)
	return d, nil
}

// rebuild restores what dropIndexes set aside; a row that breaks a key or
// a foreign key fails here, naming it.
func (d *deferredIndexes) rebuild(ctx context.Context, tx pgx.Tx, o Options, rep *Report) error {
	steps := len(d.keys) + len(d.indexes) + len(d.foreign)
	done := 0
	step := func(c ddl, q string) error {
		if o.Progress != nil {
			o.Progress(Progress{Phase: "index", Table: c.name, Done: int64(done), Total: int64(steps)})
		}
		done++
		if !c.upstream {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("rebuild %s after the copy: %w", c.name, explainPG(err))
			}
			return nil
		}
		// SQLite indexes values of any size; a PostgreSQL b-tree entry
		// holds at most about 2700 bytes. Such an index of upstream's is
		// left out (under a savepoint, so the transaction goes on) and
		// listed; any other failure is fatal.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return fmt.Errorf("make %s after the copy: %w", c.name, explainPG(err))
		}
		if _, err := sp.Exec(ctx, q); err != nil {
			sp.Rollback(ctx)
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "54000" {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %s not made: %s (upstream's SQLite has no such limit); its rows are all there", c.report.Name, c.name, pe.Message))
				c.report.Keys = slices.DeleteFunc(c.report.Keys, func(k string) bool { return k == c.name || strings.HasPrefix(k, c.name+" ") })
				return nil
			}
			return fmt.Errorf("make %s after the copy: %w", c.name, explainPG(err))
		}
		if err := sp.Commit(ctx); err != nil {
			return fmt.Errorf("make %s after the copy: %w", c.name, explainPG(err))
		}
		return nil
	}
	for _, c := range d.keys {
		if err := step(c, `ALTER TABLE `+c.table+` ADD CONSTRAINT `+pgx.Identifier{c.name}.Sanitize()+` `+c.def); err != nil {
			return err
		}
	}
	for _, c := range d.indexes {
		if err := step(c, c.def); err != nil {
			return err
		}
	}
	for _, c := range d.foreign {
		if err := step(c, `ALTER TABLE `+c.table+` ADD CONSTRAINT `+pgx.Identifier{c.name}.Sanitize()+` `+c.def); err != nil {
			return err
		}
	}
	return nil
}
