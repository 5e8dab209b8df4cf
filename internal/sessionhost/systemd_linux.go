package sessionhost

import (
	"context"
	"fmt"
	"strconv"

	"github.com/coreos/go-systemd/v22/dbus"
)

// startUnit asks systemd to start o's template unit and waits for the job.
// The unit runs the host as o; the daemon needs no privilege for this beyond
// what the polkit rule grants its user.
func startUnit(ctx context.Context, _ *Host, o Owner) error {
	unit := UnitPrefix + strconv.Itoa(o.UID) + ".service"
	conn, err := dbus.NewSystemConnectionContext(ctx)
	if err != nil {
		return fmt.Errorf("start %s: cannot reach systemd over D-Bus: %w", unit, err)
	}
	defer conn.Close()
	done := make(chan string, 1)
	if _, err := conn.StartUnitContext(ctx, unit, "replace", done); err != nil {
		return fmt.Errorf("start %s: %w (the polkit rule /usr/share/polkit-1/rules.d/50-teleclaude.rules lets the daemon's user do this; is polkit installed?)", unit, err)
	}
	select {
	case res := <-done:
		if res != "done" {
			return fmt.Errorf("start %s: the job ended %q; see `systemctl status %s`", unit, res, unit)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("start %s: %w", unit, ctx.Err())
	}
}
