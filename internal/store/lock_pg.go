package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// advisoryKey is the pg_try_advisory_lock key that stands for "a TeleClaude
// daemon uses this database" ("tclaude" in ASCII). Advisory locks are per
// database, so daemons on other databases of the same server never collide.
const advisoryKey int64 = 0x74636c61756465

// lockAdvisory takes a session-level advisory lock on a connection pinned
// for the store's lifetime and returns that connection; PostgreSQL releases
// the lock when the connection ends, so a dead daemon never keeps it.
//
// A holder that cannot be found any more let go between our attempt and
// our look (a daemon that just died, whose backend was ending): only then
// is the lock tried again, a few times; a live holder is reported at once.
func lockAdvisory(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for attempt := 1; ; attempt++ {
		var ok bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", advisoryKey).Scan(&ok); err != nil {
			conn.Close()
			return nil, fmt.Errorf("lock: %w", err)
		}
		if ok {
			return conn, nil
		}
		holder, gone := advisoryHolder(ctx, db)
		if !gone || attempt == 5 {
			conn.Close()
			return nil, &LockedError{Holder: holder}
		}
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, fmt.Errorf("lock: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unlockAdvisory releases the lock before the connection goes back to the
// pool, where it would otherwise keep holding it.
func unlockAdvisory(conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", advisoryKey)
	if err != nil {
		// Make database/sql discard the connection: its end releases the lock.
		conn.Raw(func(any) error { return errors.Join(err, driver.ErrBadConn) })
	}
	return conn.Close()
}

// advisoryHolder describes the backend holding our lock in this database;
// gone reports that no backend holds it any more. A bigint advisory key
// shows in pg_locks as classid (high half) and objid (low half). Without
// pg_read_all_stats, pg_stat_activity hides the address and start of other
// roles' backends, hence the coalesces.
func advisoryHolder(ctx context.Context, db *sql.DB) (desc string, gone bool) {
	var pid int
	var app, usr, from, since string
	err := db.QueryRowContext(ctx, `
		SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, 'unknown'),
		       CASE WHEN a.client_port = -1 THEN 'the local socket'
		            WHEN a.client_addr IS NOT NULL THEN host(a.client_addr)
		            ELSE 'an address hidden from us' END,
		       coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'unknown')
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.classid = $1 AND l.objid = $2`,
		advisoryKey>>32, advisoryKey&0xffffffff).Scan(&pid, &app, &usr, &from, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Sprintf("a connection that released advisory lock %d just now (try again)", advisoryKey), true
	}
	if err != nil {
		return fmt.Sprintf("another connection (advisory lock %d; its details are not visible: %v)", advisoryKey, err), false
	}
	if app == "" {
		app = "a connection without an application_name"
	}
	return fmt.Sprintf("%s (PostgreSQL backend pid %d, user %s, from %s, connected since %s)", app, pid, usr, from, since), false
}
