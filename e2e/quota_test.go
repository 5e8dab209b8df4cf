//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPersonQuotas: a member whose sessions flood their output (the
// issue's `yes` sessions) fills their own transcript quota and nobody
// else's: the transcript says where it stopped, further input and new
// sessions are refused with words, another member starts as usual. Docs:
// a member's count and bytes are bounded, each refusal named.
func TestPersonQuotas(t *testing.T) {
	requireRoot(t)
	cfg := strings.Replace(stdConfig, "agents:\n", "agents:\n  flood: {command: [\"/bin/sh\", \"-c\", \"yes tce-flood | head -c 300000; echo; echo flood-done; exec cat\"]}\n", 1)
	cfg = strings.Replace(cfg, "sessions: {default_agent: echo}", "sessions: {default_agent: echo, transcript_max_bytes: 65536, person_transcript_max_bytes: 100000}\ndocs: {person_max_bytes: 1048576, person_max_count: 3}", 1)
	d := startDaemon(t, daemonOpts{config: cfg})
	mx, mo := lookup(t, uMember), lookup(t, uMember2)

	a := d.startSession(t, mx, "--project", "demo", "--agent", "flood")
	d.waitOutput(t, mx, a.ID, "sessions.transcript_max_bytes")
	b := d.startSession(t, mx, "--project", "demo", "--agent", "flood")
	out := d.waitOutput(t, mx, b.ID, "sessions.person_transcript_max_bytes")
	if strings.Contains(out, "flood-done") {
		t.Errorf("output after the quota note was kept: %q", out[max(0, len(out)-300):])
	}
	kept := len(outputOf(d.transcript(t, mx, a.ID))) + len(out)
	if kept > 100000+1000 {
		t.Errorf("max's transcripts hold %d bytes against a quota of 100000", kept)
	}
	d.refused(t, mx, 1, "sessions.person_transcript_max_bytes", "sessions", "send", b.ID, "hello")
	d.refused(t, mx, 1, "sessions.person_transcript_max_bytes", "sessions", "start", "--project", "demo")
	if r := d.telec(t, mx, "sessions", "send", b.ID, "hello", "--json"); !strings.Contains(r.stdout+r.stderr, "quota_exceeded") {
		t.Errorf("send over quota with --json: %q %q; want the code quota_exceeded", r.stdout, r.stderr)
	}
	s := d.startSession(t, mo, "--project", "demo")
	d.telec(t, mo, "sessions", "send", s.ID, "mo is fine")
	d.waitOutput(t, mo, s.ID, "mo is fine")

	dir, _ := os.MkdirTemp(shared, "docs-")
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	big := strings.Repeat("a long line of a doc\n", 600<<10/21)
	if r := d.telec(t, mx, "docs", "put", "one", write("one.md", big)); r.code != 0 {
		t.Fatalf("docs put one: exit %d: %s", r.code, r.stderr)
	}
	d.refused(t, mx, 1, "docs.person_max_bytes", "docs", "put", "two", write("two.md", big))
	d.telec(t, mx, "docs", "put", "two", write("small.md", "small\n"))
	d.telec(t, mx, "docs", "put", "three", write("small.md", "small\n"))
	d.refused(t, mx, 1, "docs.person_max_count", "docs", "put", "four", write("small.md", "small\n"))
	if r := d.telec(t, mo, "docs", "put", "four", write("small.md", "small\n")); r.code != 0 {
		t.Errorf("mo's first doc: exit %d: %s", r.code, r.stderr)
	}
}

// TestArgvSeenByOthers: what another user sees of a session's processes in
// /proc (ps): never the agent's keys, on any command line or in any
// environment they may read, and never the session's id (tmux's server
// starts with start-server, and sessions are made over its socket). The
// owner's uid is in the host's --dir, and the agent's command is the
// config's, which every user may read anyway (docs/DESIGN.md, "Threat
// model").
func TestArgvSeenByOthers(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	mx, mo := lookup(t, uMember), lookup(t, uMember2)
	s := d.startSession(t, mx, "--project", "demo", "--agent", "keyed")
	d.waitOutput(t, mx, s.ID, "key="+testSecret)
	const script = `for p in /proc/[0-9]*; do c=$(tr '\0' ' ' < $p/cmdline 2>/dev/null) && [ -n "$c" ] && echo "cmdline ${p#/proc/}: $c"; e=$(tr '\0' ' ' < $p/environ 2>/dev/null) && [ -n "$e" ] && echo "environ ${p#/proc/}: $e"; done; true`
	r := run(t, &mo, nil, "/bin/sh", "-c", script)
	// The test must see the owner's processes, or it proves nothing.
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("/run/users/%d --tmux", mx.uid)) {
		t.Fatalf("reading /proc as %s: exit %d, %q; the owner's session host is not among what it read", mo.name, r.code, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, testSecret) {
			t.Errorf("another user reads the agent's key: %s", line)
		}
		if strings.Contains(line, s.ID) {
			t.Errorf("another user reads the session's id: %s", line)
		}
	}
}

// TestDocEscapesNeverReachTerminals: a member cannot put a doc with
// terminal controls in it (refused with the byte), and a doc that holds
// them anyway (written into the shared directory by hand, or shipped) is
// shown to an admin escaped: no clipboard write, title or screen clear
// reaches the terminal. Public callers read only what is marked public.
func TestDocEscapesNeverReachTerminals(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	mx, ada, pub := lookup(t, uMember), lookup(t, uAdmin), lookup(t, uPublic)
	dir := sharedDir(t, "docs-")
	os.Chmod(dir, 0o755)
	f := filepath.Join(dir, "evil.md")
	os.WriteFile(f, []byte("---\nrole: public\n---\n"+evil+"\n"), 0o644)
	d.refused(t, mx, 2, "control character U+001B", "docs", "put", "evil", f)

	if err := os.MkdirAll(filepath.Join(d.dir, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(d.dir, "shared", "planted.md")
	if err := os.WriteFile(planted, []byte("---\nrole: member\n---\nsee "+evil+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := lookup(t, svcUser)
	os.Chown(filepath.Join(d.dir, "shared"), svc.uid, svc.gid)
	os.Chown(planted, svc.uid, svc.gid)
	r := d.telec(t, ada, "docs", "show", "planted")
	if r.code != 0 || strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07\u202e") || !strings.Contains(r.stdout, `\x1b]52;c;`) {
		t.Errorf("docs show of a doc with escapes, as an admin: exit %d\nstdout %q\nstderr %q; want it shown escaped", r.code, r.stdout, r.stderr)
	}
	d.refused(t, pub, 1, `no doc "planted"`, "docs", "show", "planted")
}
