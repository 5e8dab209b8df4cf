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

// createLog creates the empty output log that the owner's tmux appends to.
func createLog(path string, ownerUID, daemonUID int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create output log: %w", err)
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

// Exec is `teleclaude session-exec SPEC`: it reads and deletes the spec,
// enters the project directory and replaces itself with the agent. It
// returns only on failure, which the caller reports in the pane (and so
// in the transcript).
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
	return fmt.Errorf("run %s: %w", path, syscall.Exec(path, spec.Argv, list))
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
