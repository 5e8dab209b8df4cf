package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/errdefs"
)

// Session is one terminal or agent session and who owns it.
type Session struct {
	ID          string  `json:"id"`
	OwnerPerson *string `json:"owner_person"` // nil: an unowned legacy session
	OwnerUID    *int64  `json:"owner_uid"`
	Project     string  `json:"project"`
	ProjectPath string  `json:"project_path"` // the project's directory when the session started
	Agent       string  `json:"agent"`
	Title       string  `json:"title"`
	Status      string  `json:"status"` // starting|running|exited|ended|failed
	ExitCode    *int    `json:"exit_code"`
	TmuxName    string  `json:"-"`
	// OutputOffset is how many bytes of the pane's output log are already
	// in the transcript.
	OutputOffset int64           `json:"-"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	EndedAt      *time.Time      `json:"ended_at"`
	Meta         json.RawMessage `json:"meta,omitempty"`
}

// SessionFilter narrows ListSessions.
type SessionFilter struct {
	OwnerUID  *int64   // only sessions of this uid
	OwnedOnly bool     // exclude unowned sessions
	Status    []string // only these statuses
	Limit     int      // 0: no limit
}

const sessionCols = `id, owner_person, owner_uid, project, project_path, agent, title, status, exit_code, tmux_name, output_offset, created_at, updated_at, ended_at, meta`

// CreateSession inserts sess; the caller chooses its ID. Zero CreatedAt and
// UpdatedAt are set to now, and all times are stored as UTC microseconds
// (sess is updated to match what the database holds).
func (s *Store) CreateSession(ctx context.Context, sess *Session) error {
	return s.createSession(ctx, s.db, sess)
}

// CreateSessions inserts many sessions in one transaction (imports, bulk
// loads): all of them or none.
func (s *Store) CreateSessions(ctx context.Context, ss []*Session) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create sessions: %w", err)
	}
	defer tx.Rollback()
	for _, sess := range ss {
		if err := s.createSession(ctx, tx, sess); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create sessions: %w", err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) createSession(ctx context.Context, db execer, sess *Session) error {
	if sess.ID == "" {
		return errors.New("create session: no id")
	}
	if len(sess.Meta) > 0 && !json.Valid(sess.Meta) {
		return fmt.Errorf("create session %s: meta is not valid JSON", sess.ID)
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now()
	}
	if sess.UpdatedAt.IsZero() {
		sess.UpdatedAt = sess.CreatedAt
	}
	sess.CreatedAt = sess.CreatedAt.UTC().Truncate(time.Microsecond)
	sess.UpdatedAt = sess.UpdatedAt.UTC().Truncate(time.Microsecond)
	_, err := db.ExecContext(ctx, s.q(`INSERT INTO sessions (`+sessionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`),
		sess.ID, sess.OwnerPerson, sess.OwnerUID, sess.Project, sess.ProjectPath, sess.Agent, sess.Title, sess.Status, sess.ExitCode,
		sess.TmuxName, sess.OutputOffset, s.tv(sess.CreatedAt), s.tv(sess.UpdatedAt), s.tvp(sess.EndedAt), jv(sess.Meta))
	if err != nil {
		return fmt.Errorf("create session %s: %w", sess.ID, err)
	}
	return nil
}

type scanner interface{ Scan(...any) error }

func scanSession(r scanner) (Session, error) {
	var (
		ss                      Session
		person                  sql.NullString
		uid, exit               sql.NullInt64
		created, updated, ended dbTime
		meta                    dbJSON
	)
	err := r.Scan(&ss.ID, &person, &uid, &ss.Project, &ss.ProjectPath, &ss.Agent, &ss.Title, &ss.Status, &exit, &ss.TmuxName,
		&ss.OutputOffset, &created, &updated, &ended, &meta)
	if err != nil {
		return Session{}, err
	}
	if person.Valid {
		ss.OwnerPerson = &person.String
	}
	if uid.Valid {
		ss.OwnerUID = &uid.Int64
	}
	if exit.Valid {
		c := int(exit.Int64)
		ss.ExitCode = &c
	}
	ss.CreatedAt, ss.UpdatedAt, ss.EndedAt, ss.Meta = created.T, updated.T, ended.ptr(), meta.M
	return ss, nil
}

// GetSession returns one session or ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx, s.q(`SELECT `+sessionCols+` FROM sessions WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, errdefs.NotFoundf("session %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("get session %s: %w", id, err)
	}
	return ss, nil
}

// ListSessions returns sessions ordered by project, then age, then ID;
// never nil, so that it encodes as a JSON array.
func (s *Store) ListSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	var where []string
	var args []any
	if f.OwnerUID != nil {
		where = append(where, "owner_uid = ?")
		args = append(args, *f.OwnerUID)
	}
	if f.OwnedOnly {
		where = append(where, "owner_uid IS NOT NULL")
	}
	if len(f.Status) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(",?", len(f.Status)-1)+")")
		for _, st := range f.Status {
			args = append(args, st)
		}
	}
	q := `SELECT ` + sessionCols + ` FROM sessions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY project, created_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// UpdateSessionStatus records a status change, replacing exit code and end
// time (nil clears them), or returns ErrNotFound.
func (s *Store) UpdateSessionStatus(ctx context.Context, id, status string, exitCode *int, endedAt *time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET status = ?, exit_code = ?, ended_at = ?, updated_at = ? WHERE id = ?`),
		status, exitCode, s.tvp(endedAt), s.tv(now()), id)
	if err != nil {
		return fmt.Errorf("update session %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errdefs.NotFoundf("session %s: %w", id, ErrNotFound)
	}
	return nil
}

// ErrStatusChanged is returned (wrapped, of kind errdefs.Conflict) by
// TransitionSession when the session is not in any of the statuses the
// change starts from.
var ErrStatusChanged = errors.New("the session's status has changed")

// TransitionSession is UpdateSessionStatus for a session whose status is
// one of from, in one statement: two parties changing a session at once
// (the recorder seeing it exit, someone ending it) cannot both win.
func (s *Store) TransitionSession(ctx context.Context, id string, from []string, status string, exitCode *int, endedAt *time.Time) error {
	if len(from) == 0 {
		return errors.New("transition session: no statuses to change from")
	}
	args := []any{status, exitCode, s.tvp(endedAt), s.tv(now()), id}
	for _, f := range from {
		args = append(args, f)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET status = ?, exit_code = ?, ended_at = ?, updated_at = ? WHERE id = ? AND status IN (?`+strings.Repeat(",?", len(from)-1)+`)`), args...)
	if err != nil {
		return fmt.Errorf("update session %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetSession(ctx, id); err != nil {
			return err
		}
		return errdefs.Conflictf("session %s: %w", id, ErrStatusChanged)
	}
	return nil
}

// DeleteSession removes a session that never started (its start failed),
// with any transcript entries. Sessions that ran are ended, never deleted.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM transcript_entries WHERE session_id = ?`), id); err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errdefs.NotFoundf("session %s: %w", id, ErrNotFound)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	return nil
}
