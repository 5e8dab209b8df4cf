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
	// OwnerAccount and OwnerHome are the owner's OS account name and home
	// when the session started; nil for sessions from before they were
	// kept. Together with the uid and person they say whose it is.
	OwnerAccount *string `json:"owner_account,omitempty"`
	OwnerHome    *string `json:"-"`
}

// SessionFilter narrows ListSessions.
type SessionFilter struct {
	OwnerUID *int64 // only sessions of this uid
	// OwnerPerson: only sessions started for this person.
	OwnerPerson *string
	// OwnerAccount: only sessions started by this OS account, or from
	// before accounts were kept.
	OwnerAccount *string
	OwnedOnly    bool     // exclude unowned sessions
	Status       []string // only these statuses
	Limit        int      // 0: no limit
}

// sessionCols are the sessions table's own columns; selectSessions reads
// them with the owner's account (session_accounts) beside.
const sessionCols = `id, owner_person, owner_uid, project, project_path, agent, title, status, exit_code, tmux_name, output_offset, created_at, updated_at, ended_at, meta`

const selectSessions = `SELECT s.id, s.owner_person, s.owner_uid, s.project, s.project_path, s.agent, s.title, s.status, s.exit_code, s.tmux_name, s.output_offset, s.created_at, s.updated_at, s.ended_at, s.meta, a.account, a.home
	FROM sessions s LEFT JOIN session_accounts a ON a.session_id = s.id`

// CreateSession inserts sess; the caller chooses its ID. Zero CreatedAt and
// UpdatedAt are set to now, and all times are stored as UTC microseconds
// (sess is updated to match what the database holds).
func (s *Store) CreateSession(ctx context.Context, sess *Session) (err error) {
	defer s.classify(&err)
	release, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create session %s: %w", sess.ID, err)
	}
	defer tx.Rollback()
	if err := s.createSession(ctx, tx, sess); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create session %s: %w", sess.ID, err)
	}
	return nil
}

// CreateSessions inserts many sessions in one transaction (imports, bulk
// loads): all of them or none.
func (s *Store) CreateSessions(ctx context.Context, ss []*Session) (err error) {
	defer s.classify(&err)
	release, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
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

// LimitError is returned by CreateSessionWithin when the owner already
// has the most sessions allowed.
type LimitError struct{ Have, Max int }

func (e *LimitError) Error() string {
	return fmt.Sprintf("the owner has %d sessions running, the most allowed (%d)", e.Have, e.Max)
}

// ownerLockClass is the first key of the per-owner transaction lock on
// PostgreSQL; the owner's uid is the second. A two-key lock never meets the
// daemon's own single-key lock (lock_pg.go).
const ownerLockClass = 0x7463

// CreateSessionWithin inserts sess unless its owner already has max
// sessions in one of statuses, in which case it returns a *LimitError.
// Counting and inserting are one transaction that concurrent starts of one
// owner take in turn: SQLite's write lock, taken at BEGIN, and a per-owner
// transaction lock on PostgreSQL, where two READ COMMITTED transactions
// would each count without the other's row.
func (s *Store) CreateSessionWithin(ctx context.Context, sess *Session, statuses []string, max int) error {
	if sess.OwnerUID == nil || len(statuses) == 0 {
		return errors.New("create session: a limit needs an owner and statuses")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create session %s: %w", sess.ID, err)
	}
	defer tx.Rollback()
	if s.engine == PostgreSQL {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, $2)", ownerLockClass, int32(uint32(*sess.OwnerUID))); err != nil {
			return fmt.Errorf("create session %s: %w", sess.ID, err)
		}
	}
	args := []any{*sess.OwnerUID}
	for _, st := range statuses {
		args = append(args, st)
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM sessions WHERE owner_uid = ? AND status IN (?`+strings.Repeat(",?", len(statuses)-1)+`)`), args...).Scan(&n); err != nil {
		return fmt.Errorf("create session %s: %w", sess.ID, err)
	}
	if n >= max {
		return &LimitError{Have: n, Max: max}
	}
	if err := s.createSession(ctx, tx, sess); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create session %s: %w", sess.ID, err)
	}
	return nil
}

// OwnerCount is how many sessions one owner has: a (uid, person) and,
// for sessions that recorded it, the account and home at start.
type OwnerCount struct {
	UID      int64
	Person   string
	Account  *string // nil: sessions from before accounts were kept
	Home     *string
	Sessions int
}

// Owners returns every owner of sessions, with how many.
func (s *Store) Owners(ctx context.Context) ([]OwnerCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.owner_uid, s.owner_person, a.account, a.home, count(*)
		FROM sessions s LEFT JOIN session_accounts a ON a.session_id = s.id
		WHERE s.owner_uid IS NOT NULL AND s.owner_person IS NOT NULL
		GROUP BY s.owner_uid, s.owner_person, a.account, a.home`)
	if err != nil {
		return nil, fmt.Errorf("session owners: %w", err)
	}
	defer rows.Close()
	var out []OwnerCount
	for rows.Next() {
		var o OwnerCount
		var account, home sql.NullString
		if err := rows.Scan(&o.UID, &o.Person, &account, &home, &o.Sessions); err != nil {
			return nil, fmt.Errorf("session owners: %w", err)
		}
		if account.Valid && home.Valid {
			o.Account, o.Home = &account.String, &home.String
		}
		out = append(out, o)
	}
	return out, rows.Err()
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
	if (sess.OwnerAccount == nil) != (sess.OwnerHome == nil) {
		return fmt.Errorf("create session %s: an owner's account needs its home too", sess.ID)
	}
	if sess.OwnerAccount != nil {
		if _, err := db.ExecContext(ctx, s.q(`INSERT INTO session_accounts (session_id, account, home) VALUES (?,?,?)`), sess.ID, *sess.OwnerAccount, *sess.OwnerHome); err != nil {
			return fmt.Errorf("create session %s: %w", sess.ID, err)
		}
	}
	return nil
}

type scanner interface{ Scan(...any) error }

func scanSession(r scanner) (Session, error) {
	var (
		ss                      Session
		person, account, home   sql.NullString
		uid, exit               sql.NullInt64
		created, updated, ended dbTime
		meta                    dbJSON
	)
	err := r.Scan(&ss.ID, &person, &uid, &ss.Project, &ss.ProjectPath, &ss.Agent, &ss.Title, &ss.Status, &exit, &ss.TmuxName,
		&ss.OutputOffset, &created, &updated, &ended, &meta, &account, &home)
	if err != nil {
		return Session{}, err
	}
	if person.Valid {
		ss.OwnerPerson = &person.String
	}
	if uid.Valid {
		ss.OwnerUID = &uid.Int64
	}
	if account.Valid && home.Valid {
		ss.OwnerAccount, ss.OwnerHome = &account.String, &home.String
	}
	if exit.Valid {
		c := int(exit.Int64)
		ss.ExitCode = &c
	}
	ss.CreatedAt, ss.UpdatedAt, ss.EndedAt, ss.Meta = created.T, updated.T, ended.ptr(), meta.M
	return ss, nil
}

// GetSession returns one session or ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (_ Session, err error) {
	defer s.classify(&err)
	ss, err := scanSession(s.db.QueryRowContext(ctx, s.q(selectSessions+` WHERE s.id = ?`), id))
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
func (s *Store) ListSessions(ctx context.Context, f SessionFilter) (_ []Session, err error) {
	defer s.classify(&err)
	var where []string
	var args []any
	if f.OwnerUID != nil {
		where = append(where, "owner_uid = ?")
		args = append(args, *f.OwnerUID)
	}
	if f.OwnerPerson != nil {
		where = append(where, "owner_person = ?")
		args = append(args, *f.OwnerPerson)
	}
	if f.OwnerAccount != nil {
		where = append(where, "(a.account IS NULL OR a.account = ?)")
		args = append(args, *f.OwnerAccount)
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
	q := selectSessions
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY s.project, s.created_at, s.id"
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
func (s *Store) UpdateSessionStatus(ctx context.Context, id, status string, exitCode *int, endedAt *time.Time) (err error) {
	defer s.classify(&err)
	release, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
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
func (s *Store) TransitionSession(ctx context.Context, id string, from []string, status string, exitCode *int, endedAt *time.Time) (err error) {
	defer s.classify(&err)
	if len(from) == 0 {
		return errors.New("transition session: no statuses to change from")
	}
	release, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
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
func (s *Store) DeleteSession(ctx context.Context, id string) (err error) {
	defer s.classify(&err)
	release, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	defer tx.Rollback()
	// A start that failed may still have recorded some output: its owner's
	// total gives it back. The session's row is locked first, as an append
	// locks it before its owner's total, so that the two never wait on
	// each other in turn.
	lock := `SELECT owner_person FROM sessions WHERE id = ?`
	if s.engine == PostgreSQL {
		lock += ` FOR UPDATE`
	}
	var person sql.NullString
	if err := tx.QueryRowContext(ctx, s.q(lock), id).Scan(&person); errors.Is(err, sql.ErrNoRows) {
		return errdefs.NotFoundf("session %s: %w", id, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	if person.String != "" {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE person_usage
			SET transcript_bytes = transcript_bytes - (SELECT COALESCE(SUM(bytes), 0) FROM transcript_usage WHERE session_id = ?)
			WHERE person = ?`), id, person.String); err != nil {
			return fmt.Errorf("delete session %s: %w", id, err)
		}
	}
	for _, table := range []string{"transcript_entries", "transcript_usage", "session_accounts"} {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE session_id = ?`), id); err != nil {
			return fmt.Errorf("delete session %s: %w", id, err)
		}
	}
	// The row is locked and there (above): no one deletes it meanwhile.
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id = ?`), id); err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	return nil
}
