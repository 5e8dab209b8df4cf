// Package sdnotify tells the service manager how the daemon is doing: ready,
// reloading, stopping, and alive (watchdog). Outside systemd every call is a
// quiet no-op, so the daemon never needs to know where it runs.
package sdnotify

import (
	"context"
	"time"
)

// Ready says the socket accepts and the database is migrated.
func Ready() { notify("READY=1") }

// Reloading says a config reload has begun; call Ready when it is done.
func Reloading() { notify(reloadingState()) }

// Stopping says shutdown has begun.
func Stopping() { notify("STOPPING=1") }

// Status sets the one-line status shown by `systemctl status`.
func Status(s string) { notify("STATUS=" + s) }

// Watchdog pings the service manager at half the interval it asked for, until
// ctx ends. alive is consulted before each ping so that a wedged daemon stops
// pinging and gets restarted.
func Watchdog(ctx context.Context, alive func() bool) {
	interval := watchdogInterval()
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if alive == nil || alive() {
				notify("WATCHDOG=1")
			}
		}
	}
}
