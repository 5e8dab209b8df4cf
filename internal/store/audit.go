package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AuditRecord is one entry of the append-only audit log.
type AuditRecord struct {
	ID              int64   `json:"id"`
	ActorPerson     *string `json:"actor_person"`
	ActorUID        int64   `json:"actor_uid"`
	ActorPID        int64   `json:"actor_pid"`
	Action          string  `json:"action"`
	TargetSessionID *string `json:"target_session_id"`
	// The target session's owner when the action happened.
	TargetOwnerPerson *string         `json:"target_owner_person"`
	TargetOwnerUID    *int64          `json:"target_owner_uid"`
	Detail            json.RawMessage `json:"detail,omitempty"`
	At                time.Time       `json:"at"`
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	ActorPerson     string
	SessionID       string
	SessionOwnerUID *int64 // records about sessions this uid owned when the action happened
	// SessionOwnerPerson narrows SessionOwnerUID to the person the uid
	// mapped to then (a uid given again to someone else sees nothing).
	SessionOwnerPerson *string
	// SessionOwnerAccount narrows further to sessions its owner started
	// from this OS account (and those from before accounts were kept).
	SessionOwnerAccount *string
	Since               time.Time
	Limit               int
}

const auditCols = `id, actor_person, actor_uid, actor_pid, action, target_session_id, target_owner_person, target_owner_uid, detail, at`

// AppendAudit writes a record and returns it with ID (and At, if zero) set.
// When it returns, the record is durable: SQLite runs with synchronous=FULL,
// PostgreSQL commits synchronously unless its admin turned that off.
func (s *Store) AppendAudit(ctx context.Context, r AuditRecord) (_ AuditRecord, err error) {
	defer s.classify(&err)
	if r.Action == "" {
		return AuditRecord{}, errors.New("append audit: no action")
	}
	if len(r.Detail) > 0 && !json.Valid(r.Detail) {
		return AuditRecord{}, fmt.Errorf("append audit %s: detail is not valid JSON", r.Action)
	}
	release, err := s.beginWrite(ctx)
	if err != nil {
		return AuditRecord{}, err
	}
	defer release()
	if r.At.IsZero() {
		r.At = now()
	}
	r.At = r.At.UTC().Truncate(time.Microsecond)
	err = s.db.QueryRowContext(ctx, s.q(`INSERT INTO audit_log (`+auditCols[len("id, "):]+`)
		VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`),
		r.ActorPerson, r.ActorUID, r.ActorPID, r.Action, r.TargetSessionID, r.TargetOwnerPerson, r.TargetOwnerUID,
		jv(r.Detail), s.tv(r.At)).Scan(&r.ID)
	if err != nil {
		return AuditRecord{}, fmt.Errorf("append audit %s: %w", r.Action, err)
	}
	return r, nil
}

// ListAudit returns the records matching every field set in f, in the order
// they were written. Since is inclusive.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) (_ []AuditRecord, err error) {
	defer s.classify(&err)
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
		where = append(where, "target_owner_uid = ?")
		args = append(args, *f.SessionOwnerUID)
	}
	if f.SessionOwnerPerson != nil {
		where = append(where, "target_owner_person = ?")
		args = append(args, *f.SessionOwnerPerson)
	}
	if f.SessionOwnerAccount != nil {
		where = append(where, "NOT EXISTS (SELECT 1 FROM session_accounts a WHERE a.session_id = target_session_id AND a.account <> ?)")
		args = append(args, *f.SessionOwnerAccount)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, s.tv(f.Since))
	}
	q := `SELECT ` + auditCols + ` FROM audit_log`
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
			r                     AuditRecord
			person, target, owner sql.NullString
			ownerUID              sql.NullInt64
			detail                dbJSON
			at                    dbTime
		)
		if err := rows.Scan(&r.ID, &person, &r.ActorUID, &r.ActorPID, &r.Action, &target, &owner, &ownerUID, &detail, &at); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		if person.Valid {
			r.ActorPerson = &person.String
		}
		if target.Valid {
			r.TargetSessionID = &target.String
		}
		if owner.Valid {
			r.TargetOwnerPerson = &owner.String
		}
		if ownerUID.Valid {
			r.TargetOwnerUID = &ownerUID.Int64
		}
		r.Detail, r.At = detail.M, at.T
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}
