package sessionhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/osuser"
)

// waitScript runs the agent as its child and writes its exit status to the
// exit file: tmux learns a pane's status only once it has reaped the
// process, and for a program that dies at once it often never does. The
// signals a terminal or tmux sends reach the agent directly (same process
// group); the shell catches them only to outlive the agent, and caught
// signals are reset for the child, which keeps Ctrl-C and the rest.
//
// The exit file's path comes in the environment, not on the command line:
// it names the session, and every user may read every command line (ps);
// an environment only its owner may read. The agent does not inherit it.
const waitScript = `f=$TELECLAUDE_EXIT_FILE; unset TELECLAUDE_EXIT_FILE
trap : HUP INT QUIT TERM
"$@"
c=$?
[ -e "$f" ] && printf '%d\n' "$c" >> "$f"
exit "$c"`

// Exec is `teleclaude session-exec --host SOCK --session ID`, the first
// program in a session's pane, running as its owner: it takes the
// session's spec from the owner's host (once; the API keys it holds were
// never on a command line or in a file), enters the project directory and
// becomes a small shell that runs the agent and records its exit status.
// It returns only on failure, which the caller prints in the pane (and so
// in the transcript).
func Exec(hostSock, session string) error {
	if err := refuseCapabilities(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec, err := TakeSpec(ctx, hostSock, session, os.Getuid())
	if err != nil {
		return err
	}
	path, err := prepareExec(spec)
	// The host holds the start until it hears how this went; the one who
	// asked for the session learns the cause, not only the pane.
	problem := ""
	if err != nil {
		problem = err.Error()
	}
	if rerr := ReportStarted(ctx, hostSock, session, os.Getuid(), problem); err == nil && rerr != nil {
		return fmt.Errorf("tell the session host that the program starts: %w", rerr)
	}
	if err != nil {
		return err
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	env["TELECLAUDE_SESSION_ID"] = session
	env["TELECLAUDE_EXIT_FILE"] = spec.Exit
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	argv := append([]string{"teleclaude-session", "-c", waitScript, "teleclaude-session", path}, spec.Argv[1:]...)
	return fmt.Errorf("run %s: %w", path, syscall.Exec("/bin/sh", argv, list))
}

// prepareExec enters the project directory and finds the program, as the
// owner; its errors name the owner and say what stood in the way.
func prepareExec(spec *Spec) (string, error) {
	if len(spec.Argv) == 0 {
		return "", errors.New("the session's spec has no command")
	}
	if err := os.Chdir(spec.Dir); err != nil {
		return "", cannotEnter(os.Getuid(), spec.Dir, err)
	}
	p := spec.Env["PATH"]
	if _, ok := spec.Env["PATH"]; !ok {
		p = os.Getenv("PATH")
	}
	return LookPath(spec.Argv[0], p)
}

// cannotEnter says that uid's user cannot work in dir, and why, in the
// words of the system call: "alice cannot enter /srv/projects/locked:
// permission denied".
func cannotEnter(uid int, dir string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s cannot enter %s: %w", osuser.UserName(uid), dir, err)
}

// LookPath finds a command as the launcher will, in path, without the
// caller's own PATH taking part.
func LookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		st, err := os.Stat(name)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s is not an executable file", name)
		}
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH (%s): %w", name, path, exec.ErrNotFound)
}
