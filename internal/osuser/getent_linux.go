package osuser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// getentPaths are where libc-bin (Debian) and glibc-common (Fedora) put
// getent. A fixed path, not PATH: the daemon's identity decisions must not
// depend on what a caller's environment puts first.
var getentPaths = []string{"/usr/bin/getent", "/bin/getent"}

// getent asks NSS through getent(1): exit 2 means no such key.
func getent(ctx context.Context, db, key string) ([]byte, error) {
	prog := ""
	for _, p := range getentPaths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			prog = p
			break
		}
	}
	if prog == "" {
		return nil, errNoNSS
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, db, "--", key)
	cmd.Env = []string{"LC_ALL=C"}
	cmd.Stderr = &stderr
	// A stuck NSS module's children must not keep the pipes open after the
	// context has killed getent.
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out, nil
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return nil, ErrUnknown
	case ctx.Err() != nil:
		return nil, fmt.Errorf("getent %s %s: no answer in %s (is the directory service up?)", db, key, nssTimeout)
	default:
		return nil, fmt.Errorf("getent %s %s: %v %s", db, key, err, bytes.TrimSpace(stderr.Bytes()))
	}
}
