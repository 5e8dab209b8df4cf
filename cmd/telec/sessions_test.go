package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
)

func TestTranscriptPrinter(t *testing.T) {
	var b bytes.Buffer
	p := transcriptPrinter{w: &b, atLineStart: true}
	for _, e := range []apitype.TranscriptEntry{
		{Direction: "out", Content: "$ "},
		{Direction: "in", Content: "ls\n"},
		{Direction: "out", Content: "a b\n$ "},
		{Direction: "in", Content: "exit"},
	} {
		p.print(e)
	}
	if got, want := b.String(), "$ \n» ls\na b\n$ \n» exit\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}

func TestPrintSessions(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.Local)
	uid := func(n int64) *int64 { return &n }
	who := func(s string) *string { return &s }
	code := 3
	ss := []apitype.Session{
		{ID: "aaa", OwnerPerson: who("max"), OwnerUID: uid(1002), Project: "web", Agent: "claude", Status: "running", Title: "fix login", CreatedAt: now.Add(-time.Hour)},
		{ID: "bbbbbb", OwnerPerson: who("ada"), OwnerUID: uid(1001), Project: "api", Agent: "shell", Status: "exited", ExitCode: &code, CreatedAt: now.Add(-48 * time.Hour)},
		{ID: "c", Project: "web", Agent: "shell", Status: "lost", CreatedAt: now},
	}
	var b bytes.Buffer
	printSessions(&b, ss, 1002, now)
	want := "api\n" +
		"  bbbbbb  shell   exited(3)  Mar 02 12:00  [ada]\n" +
		"\n" +
		"web\n" +
		"  aaa     claude  running    11:00         fix login\n" +
		"  c       shell   lost       12:00         [unowned]\n"
	if got := b.String(); got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
}

// The transcript's last line is ended, so the shell's prompt does not
// follow the program's last words.
func TestTranscriptEndsItsLastLine(t *testing.T) {
	var b bytes.Buffer
	p := transcriptPrinter{w: &b, atLineStart: true}
	p.print(apitype.TranscriptEntry{Direction: "out", Content: "bye\n$ "})
	p.finish()
	if got := b.String(); got != "bye\n$ \n" {
		t.Errorf("printed %q", got)
	}
	b.Reset()
	p.print(apitype.TranscriptEntry{Direction: "out", Content: "done\n"})
	p.finish()
	if got := b.String(); got != "done\n" {
		t.Errorf("printed %q, want no extra newline", got)
	}
}
