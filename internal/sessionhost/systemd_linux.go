package sessionhost

import (
	"context"
	"fmt"
	"strconv"

	"github.com/coreos/go-systemd/v22/dbus"
)

// packagedRule is the uid range of packaging/polkit/50-teleclaude.rules;
// directoryRuleExample is where the packages put the example rule for
// other ranges (packaging/polkit/49-teleclaude-directory.rules).
var packagedRule = struct{ first, last int }{1000, 59999}

const directoryRuleExample = "/usr/share/doc/teleclaude/examples/49-teleclaude-directory.rules"

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
		if o.UID < packagedRule.first || o.UID > packagedRule.last {
			return fmt.Errorf("start %s: %w (the packaged polkit rule lets the daemon start session hosts for uids %d-%d only; an admin lets in a directory's uids with %s, copied to /etc/polkit-1/rules.d/)",
				unit, err, packagedRule.first, packagedRule.last, directoryRuleExample)
		}
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
