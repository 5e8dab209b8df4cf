package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/sirupsen/logrus"
)

// lockCheckEvery is how often the PostgreSQL instance lock's connection is
// looked at. A server restart ends it, and with it the lock: until it is
// taken again, another daemon could take the database, so this one writes
// nothing in between. It bounds how long a lost lock goes unnoticed
// (docs/DESIGN.md, "Storage and migration"): a ping of an idle connection
// four times a second costs the server next to nothing.
const lockCheckEvery = 250 * time.Millisecond

// lockKeeper holds the PostgreSQL advisory lock across the loss of its
// connection (a server restart, a killed backend): it takes the lock again
// on a new connection, or, when another daemon took it meanwhile, fences
// this store off for good, since two daemons must never write at once.
type lockKeeper struct {
	db *sql.DB

	mu   sync.Mutex
	conn *sql.Conn // nil while the lock is not held
	// lost says why writes are refused (nil: the lock is held); fenced
	// makes it permanent.
	lost   error
	fenced bool

	stop context.CancelFunc
	done chan struct{}
}

func newLockKeeper(db *sql.DB, conn *sql.Conn, every time.Duration) *lockKeeper {
	ctx, cancel := context.WithCancel(context.Background())
	k := &lockKeeper{db: db, conn: conn, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		if every <= 0 {
			return // tests check by hand
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				k.check(ctx)
			}
		}
	}()
	return k
}

// writable is nil while this daemon holds the database, else the reason,
// as an Unavailable error for the caller and a fix for admins.
func (k *lockKeeper) writable() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lost
}

// check looks at the lock's connection and, if it is gone, takes the lock
// again; it returns what writable would then.
func (k *lockKeeper) check(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fenced {
		return k.lost
	}
	if k.conn != nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := k.conn.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return k.lost
		}
		discard(k.conn)
		k.conn = nil
		k.lost = errdefs.Unavailablef("the database connection holding this daemon's instance lock was lost (%v); writes wait until it is taken again. If the PostgreSQL server restarted, this resolves itself; if not, check that the server is up", err)
		logrus.WithError(err).Warn("the connection holding the PostgreSQL instance lock is gone; refusing writes until the lock is taken again")
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := lockAdvisory(lctx, k.db)
	var le *LockedError
	switch {
	case err == nil:
		k.conn, k.lost = conn, nil
		logrus.Info("took the PostgreSQL instance lock again on a new connection; writing again")
	case errors.As(err, &le):
		k.fenced = true
		k.lost = errdefs.Unavailablef("another daemon took the database while this one's lock connection was down: %s. This daemon no longer writes, so that two never do; stop one of them and restart the other", le.Holder)
		logrus.Error(k.lost.Error())
	default:
		if ctx.Err() == nil {
			logrus.WithError(err).Debug("taking the PostgreSQL instance lock again")
		}
	}
	return k.lost
}

// close stops the keeper and releases the lock.
func (k *lockKeeper) close() error {
	k.stop()
	<-k.done
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn == nil {
		return nil
	}
	err := unlockAdvisory(k.conn)
	k.conn = nil
	return err
}

// discard closes a connection database/sql must not reuse.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return fmt.Errorf("lock connection lost: %w", driver.ErrBadConn) })
	conn.Close()
}
