package sessions

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/instruktai/teleclaude/internal/sessionhost"
)

// launchSpec is what the daemon hands to `teleclaude session-exec`, which
// runs as the owner inside the pane: the agent's argv, its environment
// (API keys included) and directory. It travels in a file only the owner
// and the daemon can read, never on a command line, and the launcher
// deletes it before the agent starts.
type launchSpec struct {
	Session string            `json:"session"`
	Argv    []string          `json:"argv"`
	Env     map[string]string `json:"env"`
	Dir     string            `json:"dir"`
	// ExitFile is where the agent's exit status goes (see Exec).
	ExitFile string `json:"exit_file"`
}

func writeSpec(path string, spec launchSpec, ownerUID, daemonUID int) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write launch spec: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write launch spec: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write launch spec: %w", err)
	}
	if ownerUID != daemonUID {
		if err := sessionhost.GrantRead(path, ownerUID); err != nil {
			os.Remove(path)
			return err
		}
	}
	return nil
}

// createOwned creates an empty file that the owner's session writes to
// (the output log, the exit status): the daemon owns it, so that it can
// tell it from anything the owner might put in its place.
func createOwned(path string, ownerUID, daemonUID int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	f.Close()
	if ownerUID != daemonUID {
		if err := sessionhost.GrantWrite(path, ownerUID); err != nil {
			os.Remove(path)
			return err
		}
	}
	return nil
}

// waitScript runs the agent as its child and writes its exit status to the
// exit file: tmux learns a pane's status only once it has reaped the
// process, and for a program that dies at once it sometimes never does.
// The signals a terminal or tmux sends reach the agent directly (same
// process group); the shell catches them only to outlive the agent, and
// caught signals are reset for the child, which keeps Ctrl-C and the rest.
const waitScript = `f=$1; shift
trap : HUP INT QUIT TERM
"$@"
c=$?
printf '%d\n' "$c" > "$f"
exit "$c"`

// Exec is `teleclaude session-exec SPEC`: it reads and deletes the spec,
// enters the project directory and becomes a small shell that runs the
// agent and records its exit status (waitScript). It returns only on
// failure, which the caller reports in the pane (and so in the
// transcript).
func Exec(specPath string) error {
	spec, err := readSpec(specPath)
	os.Remove(specPath)
	if err != nil {
		return err
	}
	if len(spec.Argv) == 0 {
		return errors.New("the launch spec has no command")
	}
	if err := os.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("enter the project directory: %w", err)
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
	env["TELECLAUDE_SESSION_ID"] = spec.Session
	path, err := lookPath(spec.Argv[0], env["PATH"])
	if err != nil {
		return err
	}
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	if spec.ExitFile == "" {
		return fmt.Errorf("run %s: %w", path, syscall.Exec(path, spec.Argv, list))
	}
	argv := append([]string{"teleclaude-session", "-c", waitScript, "teleclaude-session", spec.ExitFile, path}, spec.Argv[1:]...)
	return fmt.Errorf("run %s: %w", path, syscall.Exec("/bin/sh", argv, list))
}

func readSpec(path string) (launchSpec, error) {
	f, err := os.Open(path)
	if err != nil {
		return launchSpec{}, fmt.Errorf("read the launch spec: %w", err)
	}
	defer f.Close()
	var spec launchSpec
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&spec); err != nil {
		return launchSpec{}, fmt.Errorf("read the launch spec %s: %w", path, err)
	}
	return spec, nil
}
