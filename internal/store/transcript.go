package store

import (
	"context"
	"fmt"
	"time"
)

// TranscriptEntry is one piece of input or output of a session.
type TranscriptEntry struct {
	Seq       int64     `json:"seq"`
	Direction string    `json:"direction"` // "in" | "out"
	Content   string    `json:"content"`
	At        time.Time `json:"at"`
}

// AppendTranscript appends entries in one transaction, numbering them after
// the session's last entry.
func (s *Store) AppendTranscript(ctx context.Context, sessionID string, entries ...TranscriptEntry) ([]TranscriptEntry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("append transcript %s: %w", sessionID, err)
	}
	defer tx.Rollback()
	var last int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(seq), 0) FROM transcript_entries WHERE session_id = ?`), sessionID).Scan(&last); err != nil {
		return nil, fmt.Errorf("append transcript %s: %w", sessionID, err)
	}
	stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES (?,?,?,?,?)`))
	if err != nil {
		return nil, fmt.Errorf("append transcript %s: %w", sessionID, err)
	}
	defer stmt.Close()
	out := make([]TranscriptEntry, len(entries))
	for i, e := range entries {
		last++
		e.Seq = last
		if e.At.IsZero() {
			e.At = now()
		}
		e.At = e.At.UTC().Truncate(time.Microsecond)
		if _, err := stmt.ExecContext(ctx, sessionID, e.Seq, e.Direction, e.Content, s.tv(e.At)); err != nil {
			return nil, fmt.Errorf("append transcript %s: %w", sessionID, err)
		}
		out[i] = e
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("append transcript %s: %w", sessionID, err)
	}
	return out, nil
}

// Transcript returns a session's entries after afterSeq, in order.
func (s *Store) Transcript(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]TranscriptEntry, error) {
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
	return out, rows.Err()
}
