package sessionhost

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
)

// startDirect starts o's tmux server as o. tmux daemonises itself: the
// server lives on, in its own session, when the daemon stops or restarts.
func startDirect(ctx context.Context, h *Host, o Owner) error {
	srv := h.Server(o.UID)
	cmd := srv.Command(ctx, "-f", filepath.Join(h.Dir(o.UID), "tmux.conf"), "start-server")
	cmd.Env = ownerEnv(o)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if o.UID != h.cfg.DaemonUID {
		if err := CanSwitch(); err != nil {
			return err
		}
		groups := make([]uint32, len(o.Groups))
		for i, g := range o.Groups {
			groups[i] = uint32(g)
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(o.UID), Gid: uint32(o.GID), Groups: groups}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("start the tmux server of %s (uid %d): %v: %s", o.Username, o.UID, err, strings.TrimSpace(string(out)))
	}
	return nil
}
