package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/instruktai/teleclaude/internal/errdefs"
)

// Quotas are what one person may keep in the database (docs/DESIGN.md,
// "Threat model"): the shared machine's disk is everyone's. Zero means no
// limit.
type Quotas struct {
	// TranscriptBytes bounds the bytes of all of a person's transcripts
	// together (input and output).
	TranscriptBytes int64
	// DocBytes and DocCount bound the shared docs a person wrote last.
	DocBytes int64
	DocCount int
}

// SetQuotas replaces the quotas the store enforces (a reload may change
// them); safe beside every other method.
func (s *Store) SetQuotas(q Quotas) { s.quotas.Store(&q) }

func (s *Store) quota() Quotas {
	if q := s.quotas.Load(); q != nil {
		return *q
	}
	return Quotas{}
}

// QuotaError says that a person's quota refuses a write. It is wrapped in
// an errdefs error of kind Quota, with the words for the caller.
type QuotaError struct {
	Person string
	What   string // "transcript bytes", "doc bytes", "docs"
	Used   int64  // what the person holds now
	Adding int64
	Max    int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%s holds %d %s; %d more would pass the most one person may keep (%d)", e.Person, e.Used, e.What, e.Adding, e.Max)
}

// quotaLockClass is the first key of the per-person transaction lock on
// PostgreSQL (hashtext of the person the second): a person's concurrent
// writes count their usage in turn, as SQLite's write lock makes them.
const quotaLockClass = 0x7471

func (s *Store) lockPerson(ctx context.Context, tx *sql.Tx, person string) error {
	if s.engine != PostgreSQL {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", quotaLockClass, person)
	return err
}

// transcriptUsed is how many transcript bytes person's sessions hold.
func transcriptUsed(ctx context.Context, s *Store, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, person string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, s.q(`SELECT COALESCE((SELECT transcript_bytes FROM person_usage WHERE person = ?), 0)`), person).Scan(&n)
	return n, err
}

// TranscriptUsage is how many bytes person's transcripts hold together,
// and the most they may (0: no limit).
func (s *Store) TranscriptUsage(ctx context.Context, person string) (used, max int64, err error) {
	defer s.classify(&err)
	used, err = transcriptUsed(ctx, s, s.db, person)
	if err != nil {
		return 0, 0, fmt.Errorf("transcript usage of %s: %w", person, err)
	}
	return used, s.quota().TranscriptBytes, nil
}

// transcriptQuotaNote is the line a transcript gets where its owner's
// quota stopped it.
func transcriptQuotaNote(person string, max int64) string {
	return fmt.Sprintf("\n[teleclaude: %s's transcripts reached the most one person may keep (%d bytes, sessions.person_transcript_max_bytes); this session's output from here on is not kept. An admin can raise the limit]\n", person, max)
}

// ClaimDoc records that person wrote the shared doc name, of size bytes,
// unless that takes them past their doc quotas: then it returns an error
// of kind Quota wrapping a *QuotaError, and records nothing. A doc
// rewritten by someone else becomes theirs to count.
func (s *Store) ClaimDoc(ctx context.Context, person, name string, size int64) (err error) {
	defer s.classify(&err)
	fail := func(err error) error { return fmt.Errorf("doc %s: %w", name, err) }
	release, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := s.lockPerson(ctx, tx, person); err != nil {
		return fail(err)
	}
	q := s.quota()
	var used, count int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(bytes), 0), count(*) FROM doc_owners WHERE person = ? AND name <> ?`), person, name).Scan(&used, &count); err != nil {
		return fail(err)
	}
	if q.DocCount > 0 && count+1 > int64(q.DocCount) {
		qe := &QuotaError{Person: person, What: "docs", Used: count, Adding: 1, Max: int64(q.DocCount)}
		return &errdefs.Error{Kind: errdefs.Quota, Err: qe,
			Msg: fmt.Sprintf("you have written %d shared docs, the most one person may (docs.person_max_count, %d); doc %s was not written", count, q.DocCount, name),
			Fix: "replace one of your docs instead, or ask an admin to raise docs.person_max_count"}
	}
	if q.DocBytes > 0 && used+size > q.DocBytes {
		qe := &QuotaError{Person: person, What: "doc bytes", Used: used, Adding: size, Max: q.DocBytes}
		return &errdefs.Error{Kind: errdefs.Quota, Err: qe,
			Msg: fmt.Sprintf("your shared docs hold %d bytes; this one (%d bytes) would pass the most one person may keep (docs.person_max_bytes, %d); doc %s was not written", used, size, q.DocBytes, name),
			Fix: "shorten it or one of your other docs, or ask an admin to raise docs.person_max_bytes"}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO doc_owners (name, person, bytes, updated_at) VALUES (?,?,?,?)
		ON CONFLICT (name) DO UPDATE SET person = excluded.person, bytes = excluded.bytes, updated_at = excluded.updated_at`),
		name, person, size, s.tv(now())); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// DocUsage is how many docs person wrote last and their bytes.
func (s *Store) DocUsage(ctx context.Context, person string) (count int, bytes int64, err error) {
	defer s.classify(&err)
	err = s.db.QueryRowContext(ctx, s.q(`SELECT count(*), COALESCE(SUM(bytes), 0) FROM doc_owners WHERE person = ?`), person).Scan(&count, &bytes)
	if err != nil {
		return 0, 0, fmt.Errorf("doc usage of %s: %w", person, err)
	}
	return count, bytes, nil
}

// transcriptQuota decides, inside an append's transaction, what of entries
// (their content already storable) person's quota lets in. Input (output
// false) is all or nothing: input that cannot be recorded must not be
// typed, so the caller is refused.
// Output is kept up to the quota, cut at a character boundary, and the
// first time a session's output is cut its transcript says so (the note
// counts against nothing): the log is read on either way, and nothing is
// lost silently.
func (s *Store) transcriptQuota(ctx context.Context, tx *sql.Tx, sessionID, person string, output bool, entries []TranscriptEntry) ([]TranscriptEntry, error) {
	max := s.quota().TranscriptBytes
	if max <= 0 || person == "" {
		return entries, nil
	}
	if err := s.lockPerson(ctx, tx, person); err != nil {
		return nil, err
	}
	used, err := transcriptUsed(ctx, s, tx, person)
	if err != nil {
		return nil, err
	}
	var adding int64
	for _, e := range entries {
		adding += int64(len(e.Content))
	}
	if used+adding <= max {
		return entries, nil
	}
	if !output {
		qe := &QuotaError{Person: person, What: "transcript bytes", Used: used, Adding: adding, Max: max}
		return nil, &errdefs.Error{Kind: errdefs.Quota, Err: qe,
			Msg: fmt.Sprintf("your transcripts hold %d bytes, the most one person may keep (sessions.person_transcript_max_bytes, %d)", used, max),
			Fix: "ask an admin to raise sessions.person_transcript_max_bytes"}
	}
	room := max - used
	var kept []TranscriptEntry
	for _, e := range entries {
		c := e.Content
		if room <= 0 {
			break
		}
		if int64(len(c)) > room {
			c = truncate(c, int(room))
		}
		room -= int64(len(c))
		e.Content = c
		if c != "" {
			kept = append(kept, e)
		}
	}
	var noted bool
	err = tx.QueryRowContext(ctx, s.q(`SELECT quota_noted FROM transcript_usage WHERE session_id = ?`), sessionID).Scan(&noted)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if !noted {
		kept = append(kept, TranscriptEntry{Direction: "out", Content: transcriptQuotaNote(person, max)})
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO transcript_usage (session_id, quota_noted) VALUES (?, ?)
			ON CONFLICT (session_id) DO UPDATE SET quota_noted = excluded.quota_noted`), sessionID, true); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// addUsage counts n more bytes in a session's transcript, and in its
// owner's total (person_usage) when it has an owner.
func (s *Store) addUsage(ctx context.Context, tx *sql.Tx, sessionID, person string, n int64) error {
	if n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO transcript_usage (session_id, bytes) VALUES (?, ?)
		ON CONFLICT (session_id) DO UPDATE SET bytes = transcript_usage.bytes + excluded.bytes`), sessionID, n); err != nil {
		return err
	}
	if person == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO person_usage (person, transcript_bytes) VALUES (?, ?)
		ON CONFLICT (person) DO UPDATE SET transcript_bytes = person_usage.transcript_bytes + excluded.transcript_bytes`), person, n)
	return err
}
