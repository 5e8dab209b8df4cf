// Package runas runs this program again as another OS user. A few admin
// commands must act as a particular user because the other side believes
// only the kernel: PostgreSQL's peer authentication (setup-db acts as
// postgres, then checks that the service user gets in), and doctor's
// database check (as the daemon's user). Credentials are switched for the
// child only; the caller keeps its own.
package runas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/instruktai/teleclaude/internal/osuser"
)

// ErrNotRoot is returned when this process would have to switch users and
// may not.
var ErrNotRoot = errors.New("only root can act as another user")

// JSON gets a T as the named user: from local when this process is that
// user, otherwise (as root) from this program run again as that user with
// args, which must print the T as JSON on standard output.
func JSON[T any](ctx context.Context, username string, local func() T, args ...string) (T, error) {
	var out T
	if me, err := osuser.Lookup(username); err == nil && me.UID == os.Getuid() {
		return local(), nil
	}
	if os.Geteuid() != 0 {
		return out, ErrNotRoot
	}
	cmd, err := self(ctx, username, args...)
	if err != nil {
		return out, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		if msg := strings.TrimSpace(stderr.String()); runErr != nil && msg != "" {
			return out, errors.New(msg)
		}
		if runErr != nil {
			return out, runErr
		}
		return out, fmt.Errorf("unreadable answer from %s as %s: %w", cmd.Path, username, err)
	}
	return out, nil
}

// self returns a command that runs this executable as the named user, with
// args. The environment is kept, except HOME, USER and LOGNAME, which become
// the user's; the working directory is /, which every user may enter.
func self(ctx context.Context, username string, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program: %w", err)
	}
	u, err := osuser.Lookup(username)
	if err != nil {
		return nil, fmt.Errorf("OS user %s: %w", username, err)
	}
	cred, err := credential(u)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "USER", "LOGNAME":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+u.Home, "USER="+u.Name, "LOGNAME="+u.Name)
	return cmd, nil
}

// credential is u's uid, primary group and groups, as login would set them
// (osuser.GroupIDs, so a directory group counts).
func credential(u osuser.User) (*syscall.Credential, error) {
	c := &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}
	gids, err := osuser.GroupIDs(u)
	if err != nil {
		return nil, err
	}
	for _, g := range gids {
		c.Groups = append(c.Groups, uint32(g))
	}
	return c, nil
}
