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
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// Self returns a command that runs this executable as the named user, with
// args. The environment is kept, except HOME, USER and LOGNAME, which become
// the user's; the working directory is /, which every user may enter.
func Self(ctx context.Context, username string, args ...string) (*exec.Cmd, error) {
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

// JSON runs cmd and decodes its standard output into out. When the command
// fails, the error carries what it wrote on standard error.
func JSON(cmd *exec.Cmd, out any) error {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if runErr != nil && msg != "" {
			return fmt.Errorf("%s", msg)
		}
		if runErr != nil {
			return runErr
		}
		return fmt.Errorf("unreadable answer from %s: %w", cmd.Path, err)
	}
	return nil
}
