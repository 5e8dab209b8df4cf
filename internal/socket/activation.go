package socket

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/coreos/go-systemd/v22/activation"
)

// Activated returns the Unix listener systemd passed in (LISTEN_FDS), or nil
// when the daemon was not socket-activated.
func Activated() (*Listener, error) {
	if os.Getenv("LISTEN_FDS") == "" {
		return nil, nil
	}
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	for _, l := range lns {
		if ul, ok := l.(*net.UnixListener); ok {
			// systemd owns the socket file; never unlink it on exit.
			ul.SetUnlinkOnClose(false)
			ln := &Listener{UnixListener: ul}
			// Remembered only to notice its removal; Close never
			// removes it (it is systemd's), see Close.
			if path := ul.Addr().String(); filepath.IsAbs(path) {
				if st, err := os.Lstat(path); err == nil {
					ln.path, ln.watched = path, st
				}
			}
			return ln, nil
		}
	}
	return nil, fmt.Errorf("socket activation: LISTEN_FDS is set but systemd passed no Unix stream socket (check teleclaude.socket)")
}
