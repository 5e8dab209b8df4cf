package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/cli"
)

func teleclaudeIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Execute(newRoot(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// isolate puts teleclaude in single-user mode with directories of its own.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TELECLAUDE_SYSTEM_MODE", "0")
	t.Setenv("HOME", dir)
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("TELECLAUDE_SOCKET", dir+"/no-daemon.sock")
	return dir
}

// oneDocument fails unless s is exactly one JSON document.
func oneDocument(t *testing.T, what, s string) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: stdout is not JSON (%v): %q", what, err, s)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON document on stdout: %q", what, s)
	}
	return doc
}

func TestUnknownSubcommand(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{{"config", "chek"}, {"confg"}, {"config", "splt", "--from", "x"}} {
		stdout, stderr, code := teleclaudeIn(t, args...)
		if code != cli.ExitUsage || !strings.Contains(stderr, "unknown command") || !strings.Contains(stderr, "did you mean") && !strings.Contains(stderr, "Did you mean") {
			t.Errorf("teleclaude %v: exit %d, stdout %q, stderr %q; want 2 with a suggestion", args, code, stdout, stderr)
		}
	}
}

// A failing doctor or setup-db with --json prints its report and nothing
// after it.
func TestJSONReportsStayOneDocument(t *testing.T) {
	isolate(t)
	stdout, stderr, code := teleclaudeIn(t, "doctor", "--json")
	if code != cli.ExitFailed {
		t.Fatalf("doctor --json without a daemon: exit %d, want 1; stderr %q", code, stderr)
	}
	if doc := oneDocument(t, "doctor --json", stdout); doc["ok"] != false {
		t.Errorf("doctor --json: ok = %v", doc["ok"])
	}
	if stderr != "" {
		t.Errorf("doctor --json wrote to stderr too: %q", stderr)
	}
	stdout, stderr, code = teleclaudeIn(t, "setup-db", "--json", "--socket-dir", t.TempDir())
	if code != cli.ExitFailed {
		t.Fatalf("setup-db --json without PostgreSQL: exit %d, want 1; stderr %q", code, stderr)
	}
	if doc := oneDocument(t, "setup-db --json", stdout); doc["error"] == "" || doc["error"] == nil {
		t.Errorf("setup-db --json: no error in %v", doc)
	}
	// A usage error is in the report too.
	stdout, _, code = teleclaudeIn(t, "setup-db", "--json", "--port", "0")
	if doc := oneDocument(t, "setup-db --json --port 0", stdout); code != cli.ExitUsage || doc["error"] == nil {
		t.Errorf("setup-db --json --port 0: exit %d, %v", code, doc)
	}
}

// A command that fails before it has a report prints the error document.
func TestJSONErrorDocument(t *testing.T) {
	isolate(t)
	stdout, _, code := teleclaudeIn(t, "config", "split", "--json", "--from", "/nonexistent/config.yml", "--out", t.TempDir())
	doc := oneDocument(t, "config split --json", stdout)
	if code == 0 || doc["error"] == "" || doc["code"] == "" {
		t.Errorf("config split --json of a missing file: exit %d, %v", code, doc)
	}
}

func TestVersionJSON(t *testing.T) {
	isolate(t)
	stdout, _, code := teleclaudeIn(t, "version", "--json")
	if doc := oneDocument(t, "version --json", stdout); code != 0 || doc["version"] == "" {
		t.Errorf("version --json: exit %d, %v", code, doc)
	}
}
