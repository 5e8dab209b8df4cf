package sessions

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/sessionhost"
	"github.com/instruktai/teleclaude/internal/store"
)

// recorderWith returns a Manager on a fresh SQLite store and a running
// session whose output log is path, owned by this test's uid as a host
// would make it.
func recorderWith(t *testing.T, maxOutput int64) (*Manager, *live, string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Engine: store.SQLite, Path: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	uid := int64(os.Getuid())
	s := store.Session{ID: "s1", OwnerUID: &uid, Project: "p", Agent: "a", Status: Running}
	if err := st.CreateSession(ctx, &s); err != nil {
		t.Fatal(err)
	}
	m := New(Options{Store: st, MaxOutput: maxOutput})
	log := filepath.Join(t.TempDir(), "s1.out")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return m, &live{s: s, log: log}, log
}

func transcriptText(t *testing.T, m *Manager) string {
	t.Helper()
	entries, err := m.o.Store.Transcript(context.Background(), "s1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Content)
	}
	return b.String()
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestDrainSkipsAHugeLog: a log its owner made a petabyte long (sparse)
// is skipped, not read, even by the final read of a finished session.
func TestDrainSkipsAHugeLog(t *testing.T) {
	m, l, log := recorderWith(t, DefaultMaxOutput)
	appendTo(t, log, "before\n")
	if err := m.drain(context.Background(), l, false); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(log, 1<<50); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	if err := m.drain(context.Background(), l, true); err != nil {
		t.Fatal(err)
	}
	if l.offset != 1<<50 {
		t.Errorf("offset %d, want the end of the log, %d", l.offset, int64(1)<<50)
	}
	got := transcriptText(t, m)
	if !strings.HasPrefix(got, "before\n") || !strings.Contains(got, "the rest is not kept") || !strings.Contains(got, "bytes of output after the transcript's limit were not kept") {
		t.Errorf("transcript %q, want the output, then what was skipped and how much", got)
	}
	s, _ := m.o.Store.GetSession(context.Background(), "s1")
	if s.OutputOffset != 1<<50 {
		t.Errorf("recorded offset %d, want %d", s.OutputOffset, int64(1)<<50)
	}
}

// TestDrainLimit: the transcript keeps MaxOutput bytes of text, counted
// as stored (here 1 MiB of it); output past it is counted, not kept, and
// the transcript says so once.
func TestDrainLimit(t *testing.T) {
	m, l, log := recorderWith(t, 1<<20)
	// Colours around every line: terminal bytes the limit does not count.
	line := strings.Repeat("x", 1023) + "\n"
	for i := 0; i < 3; i++ {
		appendTo(t, log, strings.Repeat("\x1b[31m"+line+"\x1b[0m", 600)) // 600 KiB of text a time
		if err := m.drain(context.Background(), l, false); err != nil {
			t.Fatal(err)
		}
	}
	got := transcriptText(t, m)
	if n := strings.Count(got, "reached its limit of 1048576 bytes"); n != 1 {
		t.Errorf("the limit is noted %d times, want once", n)
	}
	if kept := strings.Count(got, line); kept != 1024 {
		t.Errorf("kept %d lines of 1 KiB, want the first MiB of them, 1024", kept)
	}
	if end, _ := os.Stat(log); l.offset != end.Size() {
		t.Errorf("offset %d, want all %d bytes read past", l.offset, end.Size())
	}
}

// TestDrainBacklog: 40 MB written at once is not dropped whole: it is kept
// up to the limit (here 8 MiB), a share per poll, and the rest is noted
// with how much went.
func TestDrainBacklog(t *testing.T) {
	const limit = 8 << 20
	m, l, log := recorderWith(t, limit)
	burst := strings.Repeat("y", 40_000_000)
	appendTo(t, log, burst)
	for l.offset < int64(len(burst)) {
		if err := m.drain(context.Background(), l, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.drain(context.Background(), l, true); err != nil {
		t.Fatal(err)
	}
	got := transcriptText(t, m)
	if n := strings.Count(strings.SplitN(got, "\n[teleclaude", 2)[0], "y"); n != limit {
		t.Errorf("kept %d bytes of the burst, want the limit, %d", n, limit)
	}
	want := fmt.Sprintf("%d bytes of output after the transcript's limit were not kept", len(burst)-limit)
	if !strings.Contains(got, "reached its limit") || !strings.Contains(got, want) {
		t.Errorf("transcript ends %q, want the limit noted and %q", got[len(got)-400:], want)
	}
}

// TestOpenSessionFileRefusals: only the owner's own regular file, with
// one link, is read.
func TestOpenSessionFileRefusals(t *testing.T) {
	dir := t.TempDir()
	me := os.Getuid()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("x"), 0o600)
	if f, err := openSessionFile(good, me, true); err != nil {
		t.Fatalf("the owner's file: %v", err)
	} else {
		f.Close()
	}
	link := filepath.Join(dir, "link")
	os.Symlink(good, link)
	hard := filepath.Join(dir, "hard")
	os.Link(good, hard)
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path  string
		owner int
		want  string
	}{
		{link, me, "symbolic link"},
		{hard, me, "not the file"},
		{fifo, me, "not the file"},
		{good, me + 1, "not the file"},
	} {
		if f, err := openSessionFile(tt.path, tt.owner, false); err == nil || !strings.Contains(err.Error(), tt.want) {
			if f != nil {
				f.Close()
			}
			t.Errorf("openSessionFile(%s, uid %d) = %v, want %q", filepath.Base(tt.path), tt.owner, err, tt.want)
		}
	}
}

// TestSilentHostDelaysNobody: a host that accepts and never answers (its
// owner may run one) must not hold up reading anyone's output. If
// pollStatus waited for it, this test would hang until the host is let go.
func TestSilentHostDelaysNobody(t *testing.T) {
	m, l, log := recorderWith(t, DefaultMaxOutput)
	run := t.TempDir()
	h, err := sessionhost.New(sessionhost.Config{RunDir: run, Tmux: "/usr/bin/tmux", Kind: sessionhost.Direct, DaemonUID: os.Getuid(), Self: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	m.o.Host = h
	dir := h.Dir(os.Getuid())
	os.MkdirAll(dir, 0o700)
	ln, err := net.Listen("unix", filepath.Join(dir, "host.sock"))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-release; c.Close() }()
		}
	}()
	t.Cleanup(func() { close(release); ln.Close() })
	m.mu.Lock()
	m.live[l.s.ID] = l
	m.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.pollStatus(ctx) // asks the silent host, in the background
	appendTo(t, log, "still recorded\n")
	m.pollOutput(ctx)
	if got := transcriptText(t, m); got != "still recorded\n" {
		t.Errorf("transcript %q while a host is silent, want the output", got)
	}
	m.mu.Lock()
	busy := m.checking[int64(os.Getuid())]
	m.mu.Unlock()
	if !busy {
		t.Error("the silent host's check is not in progress")
	}
	m.pollStatus(ctx) // does not pile a second check onto the first
	cancel()
	m.bg.Wait()
}

// TestReadExitRange: the exit file is the owner's to write; a status no
// process can have is recorded as unknown, not stored (PostgreSQL's int4
// would refuse 99999999999, and the session would never finalize).
func TestReadExitRange(t *testing.T) {
	dir := t.TempDir()
	for in, want := range map[string]int{"0\n": 0, "3": 3, "143\n": 143, "255": 255, "256": -1, "-1": -1, "99999999999": -1, "x": -1} {
		path := filepath.Join(dir, "s.exit")
		if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		got := readExit(path, os.Getuid())
		if want < 0 && got != nil || want >= 0 && (got == nil || *got != want) {
			t.Errorf("exit file %q: got %v, want %d (-1: unknown)", in, got, want)
		}
	}
}

func TestTitleRefusesInvisibleCharacters(t *testing.T) {
	for _, title := range []string{"fix\u202egnp.exe", "zero\u200bwidth", "bom\ufeff", "rtl\u2067mark"} {
		if err := checkTitle(title); err == nil {
			t.Errorf("checkTitle(%q) accepted it", title)
		}
	}
	for _, title := range []string{"plain", "naïve ✓ — 日本語", "emoji 🎉"} {
		if err := checkTitle(title); err != nil {
			t.Errorf("checkTitle(%q): %v", title, err)
		}
	}
}

// TestRunReadsABacklogOn: a log that holds more than one poll reads is
// read on at once, not a share per Poll (which held a flood to 16 MiB/s):
// 12 MiB are stored within one Poll after the first.
func TestRunReadsABacklogOn(t *testing.T) {
	m, l, log := recorderWith(t, DefaultMaxOutput)
	m.o.Poll = 2 * time.Second
	m.live[l.s.ID] = l
	burst := strings.Repeat(strings.Repeat("z", 99)+"\n", 3*readPerPoll/100)
	appendTo(t, log, burst)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// Polls at 2s, then 4s and 6s were it a share per Poll; the status
	// check (which needs a host) would come at 8s.
	deadline := time.Now().Add(m.o.Poll + 3*time.Second)
	for {
		s, err := m.o.Store.GetSession(ctx, l.s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.OutputOffset == int64(len(burst)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d bytes stored after %s; want all of them within a Poll of the first", s.OutputOffset, len(burst), m.o.Poll+3*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadBuffersKeptWhileOutputComes: one read's buffers serve the next
// (a flood's reads do not each zero 8 MiB anew), and a poll that finds no
// output gives them up, so an idle daemon holds none.
func TestReadBuffersKeptWhileOutputComes(t *testing.T) {
	m, l, log := recorderWith(t, DefaultMaxOutput)
	ctx := context.Background()
	kept := func() *drainBuf {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.buf
	}
	appendTo(t, log, "first\n")
	if err := m.drain(ctx, l, false); err != nil {
		t.Fatal(err)
	}
	first := kept()
	if first == nil {
		t.Fatal("no buffers kept after a read")
	}
	appendTo(t, log, "second\n")
	if err := m.drain(ctx, l, false); err != nil {
		t.Fatal(err)
	}
	if kept() != first {
		t.Fatal("the second read did not reuse the first one's buffers")
	}
	if got := transcriptText(t, m); got != "first\nsecond\n" {
		t.Fatalf("transcript %q", got)
	}

	m.o.Poll = 20 * time.Millisecond
	m.live[l.s.ID] = l
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); kept() != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the buffers are still kept 5 s after the output stopped")
		}
	}
}
