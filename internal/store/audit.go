package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// AuditRecord is one entry of the append-only audit log.
type AuditRecord struct {
	ID              int64           `json:"id"`
	ActorPerson     *string         `json:"actor_person"`
	ActorUID        int64           `json:"actor_uid"`
	ActorPID        int64           `json:"actor_pid"`
	Action          string          `json:"action"`
	TargetSessionID *string         `json:"target_session_id"`
	Detail          json.RawMessage `json:"detail,omitempty"`
	At              time.Time       `json:"at"`
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	ActorPerson     string
	SessionID       string
	SessionOwnerUID *int64 // records about sessions this uid owns
	Since           time.Time
	Limit           int
}

// AppendAudit writes a record; when it returns, the record is durable.
func (s *Store) AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	if r.Action == "" {
		return AuditRecord{}, fmt.Errorf("append audit: no action")
	}
	if r.At.IsZero() {
		r.At = now()
	}
	r.At = r.At.UTC().Truncate(time.Microsecond)
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO audit_log (actor_person, actor_uid, actor_pid, action, target_session_id, detail, at)
		VALUES (?,?,?,?,?,?,?) RETURNING id`),
		r.ActorPerson, r.ActorUID, r.ActorPID, r.Action, r.TargetSessionID, jv(r.Detail), s.tv(r.At)).Scan(&r.ID)
	if err != nil {
		return AuditRecord{}, fmt.Errorf("append audit %s: %w", r.Action, err)
	}
	return r, nil
}

// ListAudit returns records in the order they were written.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	var where []string
	var args []any
	if f.ActorPerson != "" {
		where = append(where, "actor_person = ?")
		args = append(args, f.ActorPerson)
	}
	if f.SessionID != "" {
		where = append(where, "target_session_id = ?")
		args = append(args, f.SessionID)
	}
	if f.SessionOwnerUID != nil {
		where = append(where, "target_session_id IN (SELECT id FROM sessions WHERE owner_uid = ?)")
		args = append(args, *f.SessionOwnerUID)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, s.tv(f.Since))
	}
	q := `SELECT id, actor_person, actor_uid, actor_pid, action, target_session_id, detail, at FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []AuditRecord{}
	for rows.Next() {
		var (
			r      AuditRecord
			person sql.NullString
			target sql.NullString
			detail dbJSON
			at     dbTime
		)
		if err := rows.Scan(&r.ID, &person, &r.ActorUID, &r.ActorPID, &r.Action, &target, &detail, &at); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		if person.Valid {
			r.ActorPerson = &person.String
		}
		if target.Valid {
			r.TargetSessionID = &target.String
		}
		r.Detail, r.At = detail.M, at.T
		out = append(out, r)
	}
	return out, rows.Err()
}
