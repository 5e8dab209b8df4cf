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
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// ErrNotRoot is returned when this process would have to switch users and
// may not.
var ErrNotRoot = errors.New("only root can act as another user")

// JSON gets a T as the named user: from local when this process is that
// user, otherwise (as root) from this program run again as that user with
// args, which must print the T as JSON on standard output.
func JSON[T any](ctx context.Context, username string, local func() T, args ...string) (T, error) {
	var out T
	if me, err := user.Current(); err == nil && me.Username == username {
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
	u, err := user.Lookup(username)
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
	cmd.Env = append(cmd.Env, "HOME="+u.HomeDir, "USER="+u.Username, "LOGNAME="+u.Username)
	return cmd, nil
}

func credential(u *user.User) (*syscall.Credential, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("uid of %s: %w", u.Username, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid of %s: %w", u.Username, err)
	}
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", u.Username, err)
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			c.Groups = append(c.Groups, uint32(n))
		}
	}
	return c, nil
}
