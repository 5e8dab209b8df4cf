package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"

	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ncruces/go-sqlite3"
)

// classify turns a failure of the database itself (its disk full, the
// server down, the file locked or damaged) into an Unavailable error that
// says so and what an admin does about it: the caller can do nothing but
// wait, and "internal error" would send them looking for a bug. The
// message names no file and no SQL; the cause stays in the chain for the
// daemon's log. Anything else is left as it is.
func (s *Store) classify(errp *error) {
	err := *errp
	if err == nil {
		return
	}
	if _, ok := errdefs.KindOf(err); ok {
		return
	}
	// SQLite reports a write that found no room as an I/O error.
	if s.engine == SQLite && errors.Is(err, sqlite3.IOERR) {
		if free, ferr := freeSpace(filepath.Dir(s.path)); ferr == nil && free < minFree {
			err = errors.Join(err, sqlite3.FULL)
		}
	}
	if msg := unavailable(err); msg != "" {
		*errp = &errdefs.Error{Kind: errdefs.Unavailable, Msg: msg, Err: err}
	}
}

// unavailable is what a person is told about a database failure, or "".
func unavailable(err error) string {
	const tail = " The daemon's log has the details."
	switch {
	case errors.Is(err, sqlite3.FULL):
		return "the database's disk is full, so nothing can be recorded: an admin must free space on it." + tail
	case errors.Is(err, sqlite3.BUSY), errors.Is(err, sqlite3.LOCKED):
		return "the database is locked by another program (a backup, or a sqlite3 shell left open?): try again shortly; if it lasts, an admin must stop that program." + tail
	case errors.Is(err, sqlite3.CORRUPT), errors.Is(err, sqlite3.NOTADB):
		return "the database is damaged: an admin must stop the daemon, keep a copy of the file and recover it (sqlite3 FILE .recover | sqlite3 FILE.recovered), or restore a backup." + tail
	case errors.Is(err, sqlite3.IOERR), errors.Is(err, sqlite3.CANTOPEN), errors.Is(err, sqlite3.READONLY), errors.Is(err, sqlite3.PERM):
		return "the database file cannot be read or written (a disk error, or its permissions changed): an admin must check its disk and that the daemon's user owns it." + tail
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return "the PostgreSQL server's disk is full, so nothing can be recorded: an admin must free space on it." + tail
		case pe.Code == "25006":
			return "the PostgreSQL server accepts no writes (a read-only standby, or default_transaction_read_only): an admin must point the daemon at the primary." + tail
		case strings.HasPrefix(pe.Code, "57P"), strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"):
			return "the PostgreSQL server is shutting down, restarting or out of resources (" + pe.Code + "): try again shortly; if it lasts, an admin must check the server." + tail
		}
		return ""
	}
	// ncruces' errors are net.Errors too (they say Timeout and
	// Temporary): one not named above is SQLite's own refusal (a
	// constraint, say), not a network out of reach.
	var se *sqlite3.Error
	var ne net.Error
	network := errors.As(err, &ne) && !errors.As(err, &se)
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || network || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded) {
		return "the database does not answer (a PostgreSQL server down or restarting, or overloaded): try again shortly; if it lasts, an admin must check the server." + tail
	}
	return ""
}
