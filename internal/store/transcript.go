package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/instruktai/teleclaude/internal/errdefs"
)

// TranscriptEntry is one piece of input or output of a session.
type TranscriptEntry struct {
	Seq       int64     `json:"seq"`
	Direction string    `json:"direction"` // "in" | "out"
	Content   string    `json:"content"`
	At        time.Time `json:"at"`
}

// On PostgreSQL an INSERT carries up to insertRows transcript entries and,
// past its first, insertBytes of their content: every statement is a round
// trip to the server, and a busy session's poll reads several entries.
// Bigger is not better. One statement of 4 MiB took twice as long as 64 of
// 64 kB each. And pgx copies a statement's parameters twice, into buffers
// that grow with the statement and are dropped after it: for 20 MiB in
// reads of 4 MiB, statements of 256 kB cost this process 113 ms of CPU
// against 156 ms at 1 MiB, the server the same (BenchmarkAppendOutput,
// cpu-ms/op); smaller ones cost the server more (64 kB: +16–25%).
const (
	insertRows  = 100
	insertBytes = 256 << 10
)

// insertEntries inserts es, numbered and storable, into the transcript.
// SQLite runs in this process, with no round trips to save: one prepared
// statement per entry measured faster there than many rows to a statement
// (BenchmarkAppendOutput, docs/BENCHMARKS.md).
func (s *Store) insertEntries(ctx context.Context, tx *sql.Tx, sessionID string, es []TranscriptEntry) error {
	const insert = `INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES (?,?,?,?,?)`
	if s.engine == SQLite {
		stmt, err := tx.PrepareContext(ctx, insert)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range es {
			if _, err := stmt.ExecContext(ctx, sessionID, e.Seq, e.Direction, e.Content, s.tv(e.At)); err != nil {
				return err
			}
		}
		return nil
	}
	for len(es) > 0 {
		n, bytes := 0, 0
		for n < len(es) && n < insertRows && (n == 0 || bytes+len(es[n].Content) <= insertBytes) {
			bytes += len(es[n].Content)
			n++
		}
		args := make([]any, 0, 5*n)
		for _, e := range es[:n] {
			args = append(args, sessionID, e.Seq, e.Direction, e.Content, s.tv(e.At))
		}
		if _, err := tx.ExecContext(ctx, s.q(insert+strings.Repeat(`,(?,?,?,?,?)`, n-1)), args...); err != nil {
			return err
		}
		es = es[n:]
	}
	return nil
}

// AppendTranscript appends entries in one transaction, numbering them
// 1, 2, 3… per session after its last entry, and returns them as stored:
// Seq and At set, and Content with any NUL byte or invalid UTF-8 replaced
// by U+FFFD (see storableText). An unknown session gives ErrNotFound.
func (s *Store) AppendTranscript(ctx context.Context, sessionID string, entries ...TranscriptEntry) (_ []TranscriptEntry, err error) {
	defer s.classify(&err)
	if len(entries) == 0 {
		return nil, nil
	}
	return s.appendTranscript(ctx, sessionID, nil, entries)
}

// AppendOutput appends entries (there may be none) like AppendTranscript
// and, in the same transaction, records that the session's output log has
// been read up to offset: a daemon that dies at any point resumes reading
// at the recorded offset and neither loses nor repeats output.
func (s *Store) AppendOutput(ctx context.Context, sessionID string, offset int64, entries ...TranscriptEntry) (_ []TranscriptEntry, err error) {
	defer s.classify(&err)
	return s.appendTranscript(ctx, sessionID, &offset, entries)
}

func (s *Store) appendTranscript(ctx context.Context, sessionID string, offset *int64, entries []TranscriptEntry) ([]TranscriptEntry, error) {
	fail := func(err error) error { return fmt.Errorf("append transcript %s: %w", sessionID, err) }
	stored := make([]TranscriptEntry, len(entries))
	for i, e := range entries {
		if e.Direction != "in" && e.Direction != "out" {
			return nil, fail(fmt.Errorf("direction %q, want \"in\" or \"out\"", e.Direction))
		}
		e.Content = storableText(e.Content)
		stored[i] = e
	}
	entries = stored
	release, err := s.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fail(err)
	}
	defer tx.Rollback()
	// Appenders to one session take turns, or two of them would read the
	// same MAX(seq). SQLite's BEGIN IMMEDIATE (see openSQLite) already makes
	// writers take turns; PostgreSQL locks the session's row. NO KEY UPDATE
	// still lets other sessions' foreign-key checks through.
	lock := `SELECT id, owner_person FROM sessions WHERE id = ?`
	if s.engine == PostgreSQL {
		lock += ` FOR NO KEY UPDATE`
	}
	var id string
	var person sql.NullString
	if err := tx.QueryRowContext(ctx, s.q(lock), sessionID).Scan(&id, &person); errors.Is(err, sql.ErrNoRows) {
		return nil, fail(errdefs.NotFoundf("session %s: %w", sessionID, ErrNotFound))
	} else if err != nil {
		return nil, fail(err)
	}
	entries, err = s.transcriptQuota(ctx, tx, sessionID, person.String, offset != nil, entries)
	if err != nil {
		if _, ok := errdefs.KindOf(err); ok {
			return nil, err
		}
		return nil, fail(err)
	}
	var last int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(seq), 0) FROM transcript_entries WHERE session_id = ?`), sessionID).Scan(&last); err != nil {
		return nil, fail(err)
	}
	out := make([]TranscriptEntry, len(entries))
	var size int64
	for i, e := range entries {
		last++
		e.Seq = last
		if e.At.IsZero() {
			e.At = now()
		}
		e.At = e.At.UTC().Truncate(time.Microsecond)
		out[i] = e
		size += int64(len(e.Content))
	}
	if err := s.insertEntries(ctx, tx, sessionID, out); err != nil {
		return nil, fail(err)
	}
	if err := s.addUsage(ctx, tx, sessionID, person.String, size); err != nil {
		return nil, fail(err)
	}
	if offset != nil {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE sessions SET output_offset = ? WHERE id = ?`), *offset, sessionID); err != nil {
			return nil, fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fail(err)
	}
	return out, nil
}

// Transcript returns a session's entries after afterSeq, in order; limit <= 0
// means all of them. An unknown session has no entries.
func (s *Store) Transcript(ctx context.Context, sessionID string, afterSeq int64, limit int) (_ []TranscriptEntry, err error) {
	defer s.classify(&err)
	q := `SELECT seq, direction, content, at FROM transcript_entries WHERE session_id = ? AND seq > ? ORDER BY seq`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), sessionID, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("transcript %s: %w", sessionID, err)
	}
	defer rows.Close()
	out := []TranscriptEntry{}
	for rows.Next() {
		var e TranscriptEntry
		var at dbTime
		if err := rows.Scan(&e.Seq, &e.Direction, &e.Content, &at); err != nil {
			return nil, fmt.Errorf("transcript %s: %w", sessionID, err)
		}
		e.At = at.T
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("transcript %s: %w", sessionID, err)
	}
	return out, nil
}

// storableText makes program output storable, and the same, on both
// engines: PostgreSQL text holds neither NUL bytes nor invalid UTF-8, and
// a program may print either. Refusing them would lose the whole batch.
func storableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// OutputBytes is how many bytes of output a session's transcript holds
// (the recorder's limit counts them).
func (s *Store) OutputBytes(ctx context.Context, sessionID string) (_ int64, err error) {
	defer s.classify(&err)
	size := `length(CAST(content AS BLOB))`
	if s.engine == PostgreSQL {
		size = `octet_length(content)`
	}
	var n int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(`+size+`), 0) FROM transcript_entries WHERE session_id = ? AND direction = 'out'`), sessionID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("transcript %s: %w", sessionID, err)
	}
	return n, nil
}
