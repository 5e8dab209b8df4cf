package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/cli"
)

// telecIn runs telec in this process as the user running the tests, in
// single-user mode with a home and run directory of its own.
func telecIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Execute(newRoot(&out), args, &out, &errb)
	return out.String(), errb.String(), code
}

func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TELECLAUDE_SYSTEM_MODE", "0")
	t.Setenv("HOME", dir)
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("TELECLAUDE_SOCKET", filepath.Join(dir, "no-daemon.sock"))
	return dir
}

// Every typo in a command name is refused with a suggestion and exit 2, at
// every depth, never answered with help and success.
func TestUnknownSubcommandAtAnyDepth(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args    []string
		suggest string
	}{
		{[]string{"lst"}, "list"}, // no such top-level command either
		{[]string{"sesions"}, "sessions"},
		{[]string{"sessions", "lst"}, "list"},
		{[]string{"sessions", "strat", "--project", "x"}, "start"},
		{[]string{"docs", "lsit"}, "list"},
		{[]string{"completion", "bsh"}, "bash"},
	} {
		stdout, stderr, code := telecIn(t, tc.args...)
		if code != cli.ExitUsage {
			t.Errorf("telec %v: exit %d, want %d (stdout %q, stderr %q)", tc.args, code, cli.ExitUsage, stdout, stderr)
		}
		if !strings.Contains(stderr, "unknown command") {
			t.Errorf("telec %v: stderr %q does not say unknown command", tc.args, stderr)
		}
		if tc.args[0] != "lst" && !strings.Contains(stderr, tc.suggest) {
			t.Errorf("telec %v: stderr %q does not suggest %q", tc.args, stderr, tc.suggest)
		}
		if strings.Contains(stdout, "Usage:") {
			t.Errorf("telec %v printed help on stdout: %q", tc.args, stdout)
		}
	}
	// A group alone still shows its help.
	if stdout, _, code := telecIn(t, "sessions"); code != 0 || !strings.Contains(stdout, "Available Commands") {
		t.Errorf("telec sessions: exit %d, stdout %q", code, stdout)
	}
}

// With --json, a failure is one JSON document on stdout, whatever failed:
// the daemon unreachable, bad usage, a typo in a command.
func TestJSONErrorDocument(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		exit int
		code string
	}{
		{[]string{"--json", "whoami"}, cli.ExitUnreachable, "unreachable"},
		{[]string{"sessions", "list", "--json"}, cli.ExitUnreachable, "unreachable"},
		{[]string{"--json", "sessions", "send"}, cli.ExitUsage, "usage"},
		{[]string{"--json", "sessions", "show", "--bogus"}, cli.ExitUsage, "usage"},
		{[]string{"--json", "sessions", "lst"}, cli.ExitUsage, "usage"},
	} {
		stdout, stderr, code := telecIn(t, tc.args...)
		if code != tc.exit {
			t.Errorf("telec %v: exit %d, want %d (stderr %q)", tc.args, code, tc.exit, stderr)
		}
		var doc map[string]any
		dec := json.NewDecoder(strings.NewReader(stdout))
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("telec %v: stdout is not JSON (%v): %q", tc.args, err, stdout)
			continue
		}
		if dec.More() {
			t.Errorf("telec %v: more than one document on stdout: %q", tc.args, stdout)
		}
		if doc["code"] != tc.code || doc["error"] == "" || doc["fix"] == nil || doc["fix"] == "" {
			t.Errorf("telec %v: error document %v, want code %q, an error and a fix", tc.args, doc, tc.code)
		}
	}
	// output_format: json in the preferences stands for --json, errors too.
	t.Setenv("TELECLAUDE_OUTPUT_FORMAT", "json")
	stdout, _, _ := telecIn(t, "whoami")
	if !json.Valid([]byte(stdout)) || !strings.Contains(stdout, `"unreachable"`) {
		t.Errorf("telec whoami with output_format json: stdout %q", stdout)
	}
}

func TestSendWithoutArgumentsShowsUsage(t *testing.T) {
	isolate(t)
	_, stderr, code := telecIn(t, "sessions", "send")
	if code != cli.ExitUsage || !strings.Contains(stderr, "usage: telec sessions send ID TEXT") {
		t.Errorf("telec sessions send: exit %d, stderr %q; want 2 and the usage line", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	isolate(t)
	stdout, stderr, code := telecIn(t, "version")
	if code != 0 || strings.TrimSpace(stdout) == "" {
		t.Fatalf("telec version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, _, _ = telecIn(t, "version", "--json")
	var v struct{ Version string }
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || v.Version == "" {
		t.Errorf("telec version --json: %q (%v)", stdout, err)
	}
}

func TestNoPowerShellCompletion(t *testing.T) {
	isolate(t)
	stdout, _, _ := telecIn(t, "completion", "--help")
	if strings.Contains(stdout, "powershell") {
		t.Errorf("completion still offers powershell:\n%s", stdout)
	}
	if _, _, code := telecIn(t, "completion", "powershell"); code != cli.ExitUsage {
		t.Errorf("telec completion powershell: exit %d, want 2", code)
	}
}

// With no daemon, completion offers nothing and says nothing on stdout
// but cobra's directive (file names are not session ids).
func TestCompletionSilentWithoutDaemon(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{
		{"__complete", "sessions", "show", ""},
		{"__complete", "sessions", "start", "--project", ""},
		{"__complete", "docs", "show", ""},
	} {
		stdout, _, code := telecIn(t, args...)
		if code != 0 || strings.TrimSpace(stdout) != ":4" {
			t.Errorf("telec %v without a daemon: exit %d, stdout %q; want only the no-files directive", args, code, stdout)
		}
	}
}
