// Package migrate moves a TeleClaude SQLite database into an empty
// PostgreSQL database in one transaction, and proves the copy (docs/DESIGN.md, "Storage and migration").
//
// The source is ours at any schema version, or the upstream Python
// TeleClaude's. It is never written: it is opened read-only (immutable),
// and when its schema must first be brought up to date, or a crash left a
// journal to replay, that happens on a private copy. Its bytes are hashed
// before and after, and a change fails the migration.
//
// What is copied comes from the schemas themselves at run time: every table
// of the target's schema (goose's bookkeeping aside) with every column, each
// converted according to its PostgreSQL type. A column this package cannot
// convert, or a column on one side that the other lacks, fails the
// migration; nothing is skipped quietly. Upstream databases go through the
// one explicit mapping in upstream.go.
//
// The target must be empty (no rows; a schema is fine). Everything is
// copied with COPY in one transaction, verified (row counts and a checksum
// per table over a canonical rendering of every value, the target's read
// back inside the transaction), the sequences are reset, and only then is
// it committed: any failure, a killed process or a server that goes away
// leaves the target without a row.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultBatch is how many rows go in one COPY statement by default.
const DefaultBatch = 50000

// Owner is who receives sessions that have no owner.
type Owner struct {
	Person string // the person's name in the system config
	UID    int64
}

// Options says what to migrate where.
type Options struct {
	From    string // the SQLite database file
	To      string // PostgreSQL DSN (URL or keyword/value)
	Owner   *Owner // nil: none given; unowned sessions then fail the migration
	Batch   int    // rows per COPY statement; 0 means DefaultBatch
	WorkDir string // where an old source is copied to be upgraded; "" means the system's temp dir
	Holder  string // describes this process in locks; "" means a default
	// Coerce carries a value that cannot be carried exactly in its nearest
	// form, the original kept beside it and listed in the report; without
	// it such a value fails the migration.
	Coerce bool
	// People maps upstream people's email addresses (lower case) to who
	// owns their sessions here; sessions of anyone else go to Owner.
	People map[string]Owner

	// Progress, if set, is called as rows are copied and verified.
	Progress func(Progress)

	// afterRows is a test hook, called after every row read from the source.
	afterRows func(table string, n int64)
	// mangle is a test hook that stands for a broken converter: it may
	// change each converted value before it is sent (column
	// "meta.upstream.<col>" for a value inside an upstream session's meta).
	mangle func(table, column string, v any) any
}

// Progress is what the migration is doing now.
type Progress struct {
	Phase string // "copy" or "verify"
	Table string
	Done  int64
	Total int64
}

// Errors that callers (and the CLI's exit code) tell apart.
var (
	// ErrUsage marks a mistake in the options.
	ErrUsage = errors.New("bad usage")
	// ErrTargetNotEmpty: the target database already has rows.
	ErrTargetNotEmpty = errors.New("the target database is not empty")
	// ErrSourceInUse: a daemon or another process has the source open.
	ErrSourceInUse = errors.New("the source database is in use")
	// ErrSourceChanged: the source's bytes changed during the migration.
	ErrSourceChanged = errors.New("the source database changed during the migration")
	// ErrVerify: the copy's row counts or checksums differ from the source's.
	ErrVerify = errors.New("verification failed")
)

// Run migrates o.From into o.To. It returns a report even on failure, saying
// how far it got; on failure the target has no rows.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	rep := &Report{Source: o.From, Started: start.UTC()}
	if err := o.check(); err != nil {
		return rep, err
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		o.Holder = fmt.Sprintf("teleclaude migrate pid %d on %s", os.Getpid(), host)
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	err := run(ctx, o, rep)
	rep.Seconds = time.Since(start).Seconds()
	if err != nil {
		rep.Failed = err.Error()
	}
	return rep, err
}

func (o *Options) check() error {
	if o.From == "" {
		return fmt.Errorf("%w: --from is required (the SQLite database file)", ErrUsage)
	}
	if o.To == "" {
		return fmt.Errorf("%w: --to is required (the PostgreSQL DSN)", ErrUsage)
	}
	if o.Batch < 0 {
		return fmt.Errorf("%w: --batch must be positive", ErrUsage)
	}
	abs, err := filepath.Abs(o.From)
	if err != nil {
		return fmt.Errorf("%w: --from %s: %v", ErrUsage, o.From, err)
	}
	o.From = abs
	return nil
}

func run(ctx context.Context, o Options, rep *Report) error {
	src, err := openSource(ctx, o, rep)
	if err != nil {
		return err
	}
	defer src.close()

	tgt, err := openTarget(ctx, o.To, o.Holder)
	if err != nil {
		return err
	}
	defer tgt.close()
	rep.Target = tgt.desc
	if err := tgt.mustBeEmpty(ctx); err != nil {
		return err
	}

	p, err := plan(ctx, src, tgt, o, rep)
	if err != nil {
		return err
	}
	return transfer(ctx, o, src, tgt, p, rep)
}
