package sessionhost

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// startDirect starts o's host as o, in its own session: it lives on when
// the daemon stops or restarts.
func startDirect(_ context.Context, h *Host, o Owner) error {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	attr := &os.ProcAttr{
		Dir:   "/",
		Env:   ownerEnv(o),
		Files: []*os.File{devnull, devnull, devnull},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	}
	if o.UID != h.cfg.DaemonUID {
		if err := CanSwitch(); err != nil {
			return err
		}
		groups := make([]uint32, len(o.Groups))
		for i, g := range o.Groups {
			groups[i] = uint32(g)
		}
		attr.Sys.Credential = &syscall.Credential{Uid: uint32(o.UID), Gid: uint32(o.GID), Groups: groups}
	}
	p, err := os.StartProcess(h.cfg.Self, []string{h.cfg.Self, "session-host", "--dir", h.Dir(o.UID), "--tmux", h.cfg.Tmux}, attr)
	if err != nil {
		return fmt.Errorf("start the session host of %s (uid %d): %w", o.Username, o.UID, err)
	}
	// Reaped when it ends, should the daemon still be running then.
	go p.Wait()
	return nil
}
