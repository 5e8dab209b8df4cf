package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// advisoryKey is the pg_try_advisory_lock key that stands for "a TeleClaude
// daemon uses this database" ("tclaude" in ASCII).
const advisoryKey int64 = 0x74636c61756465

// lockAdvisory holds a session-level advisory lock on a connection pinned for
// the store's lifetime; PostgreSQL releases it if the daemon dies.
func lockAdvisory(ctx context.Context, db *sql.DB) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", advisoryKey).Scan(&ok); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock: %w", err)
	}
	if !ok {
		conn.Close()
		return nil, &LockedError{Holder: advisoryHolder(ctx, db)}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", advisoryKey)
		conn.Close()
	}, nil
}

// advisoryHolder describes the backend holding our lock. A bigint advisory
// key shows in pg_locks as classid (high half) and objid (low half).
func advisoryHolder(ctx context.Context, db *sql.DB) string {
	var (
		pid           int
		app, usr, cli string
		since         time.Time
	)
	err := db.QueryRowContext(ctx, `
		SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''),
		       coalesce(host(a.client_addr), 'local socket'), a.backend_start
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.classid = $1 AND l.objid = $2`,
		advisoryKey>>32, advisoryKey&0xffffffff).Scan(&pid, &app, &usr, &cli, &since)
	if err != nil {
		return fmt.Sprintf("another connection (advisory lock %d; its details are not visible: %v)", advisoryKey, err)
	}
	return fmt.Sprintf("%s (PostgreSQL backend pid %d, user %s, from %s, since %s)", app, pid, usr, cli, since.UTC().Format(time.RFC3339))
}
