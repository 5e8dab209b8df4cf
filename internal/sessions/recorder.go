package sessions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/instruktai/teleclaude/internal/ansi"
	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/sessionhost"
	"github.com/instruktai/teleclaude/internal/store"
	"github.com/instruktai/teleclaude/internal/tmux"
	"github.com/sirupsen/logrus"
)

// The recorder: every running session's pane output goes to a log file
// (tmux pipe-pane, written as the owner); the daemon reads each log from
// the offset the database holds, strips escape sequences and appends the
// text to the transcript together with the new offset. It also follows
// each pane's process and records how the session ended.

// maxRead bounds one read of one log, and readPerPoll what one poll
// reads of it, so that one chatty session cannot hold up the others or the
// memory.
const (
	maxRead     = 1 << 20
	readPerPoll = 4 << 20
)

// maxBacklog is how far a log may run ahead of what has been read: output
// coming faster than it can be kept is skipped (the transcript says so),
// so that the log, on tmpfs, in memory, stays small.
const maxBacklog = 16 << 20

// maxEntry bounds one transcript entry, so that a page of entries stays a
// reasonable answer; longer output is split at character boundaries.
const maxEntry = 64 << 10

// statusWait is how long a dead pane may go without an exit status before
// the session is recorded as exited with an unknown code.
const statusWait = 3 * time.Second

// live is a session being recorded.
type live struct {
	s      store.Session
	log    string
	offset int64    // guarded by the session's lock
	f      *os.File // the open log, guarded by the session's lock

	// Set under Manager.mu once the session is over: finalize at this
	// time (giving the pane's last output time to reach the log), then
	// record status (empty: already recorded) and exit.
	finalizeAt time.Time
	status     string
	exit       *int
	// deadSince is when its pane was first seen dead with no status yet.
	deadSince time.Time
	// finalizing: a finalize runs (at most one at a time).
	finalizing bool
	// lastWarn is the last problem logged about it: one is logged once.
	lastWarn string
}

// newLive is the record of s, reading its log from the offset stored.
func (m *Manager) newLive(s store.Session) *live {
	return &live{s: s, log: m.logPath(s), offset: s.OutputOffset}
}

func (m *Manager) track(s store.Session) *live {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.newLive(s)
	m.live[s.ID] = l
	return l
}

// Run records output and follows status until ctx ends. Call Reconcile
// first. The loop only reads files; whatever asks a host (a status check,
// ending a finished session) runs beside it, so that one user's slow or
// silent host delays nobody else's transcript.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.o.Poll)
	defer t.Stop()
	defer m.bg.Wait()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.pollOutput(ctx)
		if n%4 == 0 {
			m.pollStatus(ctx)
		}
	}
}

// warn logs a problem about a session once, until it changes.
func (m *Manager) warn(l *live, what string, err error) {
	m.mu.Lock()
	repeat := l.lastWarn == err.Error()
	l.lastWarn = err.Error()
	m.mu.Unlock()
	if !repeat {
		logrus.WithError(err).WithField("session", l.s.ID).Warn(what)
	}
}

func (m *Manager) snapshot() []*live {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*live, 0, len(m.live))
	for _, l := range m.live {
		out = append(out, l)
	}
	return out
}

func (m *Manager) pollOutput(ctx context.Context) {
	now := time.Now()
	for _, l := range m.snapshot() {
		m.mu.Lock()
		due := !l.finalizeAt.IsZero() && !now.Before(l.finalizeAt) && !l.finalizing
		if due {
			l.finalizing = true
		}
		m.mu.Unlock()
		if due {
			m.bg.Add(1)
			go func() {
				defer m.bg.Done()
				m.finalize(ctx, l)
				// One that could not finish is tried again next round.
				m.mu.Lock()
				l.finalizing = false
				m.mu.Unlock()
			}()
			continue
		}
		// Input being delivered holds the lock; read this one next round
		// rather than wait.
		lock := m.lock(l.s.ID)
		if !lock.TryLock() {
			continue
		}
		err := m.drain(ctx, l, false)
		lock.Unlock()
		if err != nil && ctx.Err() == nil {
			m.warn(l, "reading session output", err)
		}
	}
}

// drain moves output from l's log into the transcript, the caller holding
// the session's lock. It reads no further than the log's size when it
// starts (its owner may keep writing to it, or make it a huge sparse
// file), at most readPerPoll unless final, and nothing past MaxOutput or
// a backlog over maxBacklog, which it skips. final reads to that end and
// drops an unfinished escape sequence there.
func (m *Manager) drain(ctx context.Context, l *live, final bool) error {
	if l.f == nil {
		f, err := openSessionFile(l.log, int(*l.s.OwnerUID), true)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		l.f = f
	}
	st, err := l.f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	if end <= l.offset {
		return nil
	}
	if l.offset >= m.o.MaxOutput || end-l.offset > maxBacklog {
		return m.skip(ctx, l, end)
	}
	for read := int64(0); l.offset < end && (final || read < readPerPoll); {
		buf := make([]byte, min(end-l.offset, maxRead))
		if _, err := l.f.ReadAt(buf, l.offset); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		text, n := ansi.Strip(buf, final && l.offset+int64(len(buf)) == end)
		if n == 0 {
			return nil // only the start of a sequence so far
		}
		entries := m.keep(l, text, n)
		if _, err := m.o.Store.AppendOutput(ctx, l.s.ID, l.offset+int64(n), entries...); err != nil {
			return err
		}
		l.offset += int64(n)
		read += int64(n)
		// What is in the transcript need not stay in memory (the log is
		// on tmpfs): give back the pages read.
		punchHole(l.f, l.offset)
	}
	return nil
}

// skip moves past the log up to end without reading it: the session is
// past MaxOutput (silently: the transcript said so when it crossed), or
// its output came too fast to keep (the transcript says how much went).
func (m *Manager) skip(ctx context.Context, l *live, end int64) error {
	var entries []store.TranscriptEntry
	if l.offset < m.o.MaxOutput {
		note := fmt.Sprintf("\n[teleclaude: %d MiB of output came faster than it could be kept, and was skipped]\n", (end-l.offset)>>20)
		entries = append(entries, store.TranscriptEntry{Direction: "out", Content: note})
		if end >= m.o.MaxOutput {
			entries = append(entries, m.limitNote())
		}
	}
	if _, err := m.o.Store.AppendOutput(ctx, l.s.ID, end, entries...); err != nil {
		return err
	}
	l.offset = end
	punchHole(l.f, l.offset)
	return nil
}

func (m *Manager) limitNote() store.TranscriptEntry {
	return store.TranscriptEntry{Direction: "out", Content: fmt.Sprintf("\n[teleclaude: this session's output passed %d MiB; the rest is not kept in its transcript]\n", m.o.MaxOutput>>20)}
}

// keep returns the entries for text, the output of log bytes [offset,
// offset+n): all of it up to MaxOutput bytes of log, nothing after, and
// once, where the limit is crossed, a line saying so.
func (m *Manager) keep(l *live, text []byte, n int) []store.TranscriptEntry {
	limit := m.o.MaxOutput
	switch {
	case l.offset >= limit:
		return nil
	case l.offset+int64(n) <= limit:
		return outputEntries(text)
	}
	return append(outputEntries(text), m.limitNote())
}

func outputEntries(text []byte) []store.TranscriptEntry {
	var out []store.TranscriptEntry
	for len(text) > 0 {
		n := min(len(text), maxEntry)
		for n < len(text) && n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		if n == 0 {
			n = min(len(text), maxEntry)
		}
		out = append(out, store.TranscriptEntry{Direction: "out", Content: string(text[:n])})
		text = text[n:]
	}
	return out
}

// openSessionFile opens a file a session writes (its output log, its exit
// status), which the owner's host created in the owner's directory. The
// owner may write in that directory, so the name proves nothing: it could
// now be a link to a file only the daemon may read (its database, its
// secrets). Only a regular file of the owner's, with no other link to it,
// is read; rw also asks for write access, to free what was read.
func openSessionFile(path string, owner int, rw bool) (*os.File, error) {
	flags := os.O_RDONLY
	if rw {
		flags = os.O_RDWR
	}
	flags |= syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_NOCTTY
	f, err := os.OpenFile(path, flags, 0)
	if rw && errors.Is(err, os.ErrPermission) {
		f, err = os.OpenFile(path, flags&^os.O_RDWR, 0)
	}
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s has been replaced by a symbolic link; not reading it", path)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	own, ok := fileown.Of(st)
	if !st.Mode().IsRegular() || !ok || own.UID != owner || own.Nlink != 1 {
		f.Close()
		return nil, fmt.Errorf("%s is not the file the session's host created (mode %v); not reading it", path, st.Mode())
	}
	return f, nil
}

// readExit reads the exit status the session's launcher wrote, nil when
// there is none (yet).
func readExit(path string, owner int) *int {
	f, err := openSessionFile(path, owner, false)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return nil
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil
	}
	return &code
}

// pollStatus asks each owner's host about its panes, each owner in a
// goroutine of its own (one at a time per owner), without waiting: a dead
// pane's program has exited; a session or host that is gone is lost.
func (m *Manager) pollStatus(ctx context.Context) {
	byUID := map[int64][]*live{}
	m.mu.Lock()
	for _, l := range m.live {
		if uid := *l.s.OwnerUID; l.finalizeAt.IsZero() && !m.checking[uid] {
			byUID[uid] = append(byUID[uid], l)
		}
	}
	for uid := range byUID {
		m.checking[uid] = true
	}
	m.mu.Unlock()
	for uid, ls := range byUID {
		m.bg.Add(1)
		go func() {
			defer m.bg.Done()
			m.pollOwner(ctx, int(uid), ls)
			m.mu.Lock()
			delete(m.checking, uid)
			m.mu.Unlock()
		}()
	}
}

func (m *Manager) pollOwner(ctx context.Context, uid int, ls []*live) {
	panes, err := m.o.Host.Client(uid).Panes(ctx)
	if err != nil && !errors.Is(err, sessionhost.ErrNoHost) {
		if ctx.Err() == nil {
			m.warn(ls[0], "asking the session host about its sessions", err)
		}
		return
	}
	byName := map[string]tmux.Pane{}
	for _, p := range panes {
		byName[p.Session] = p
	}
	// Exit statuses are read before the lock: files, not memory.
	exits := map[string]*int{}
	for _, l := range ls {
		if p, ok := byName[l.s.ID]; ok && p.Dead {
			exits[l.s.ID] = readExit(m.exitPath(l.s), uid)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range ls {
		if !l.finalizeAt.IsZero() {
			continue // ended meanwhile
		}
		p, ok := byName[l.s.ID]
		if !ok {
			l.status, l.finalizeAt = Lost, time.Now()
			continue
		}
		if !p.Dead {
			continue
		}
		// The launcher's record first; tmux's if it has one.
		exit := exits[l.s.ID]
		if exit == nil {
			exit = p.Exit
		}
		if l.deadSince.IsZero() {
			l.deadSince = time.Now()
		}
		if exit != nil || time.Since(l.deadSince) > statusWait {
			l.status, l.exit = Exited, exit
			// pipe-pane's cat may still hold the last output.
			l.finalizeAt = time.Now().Add(2 * m.o.Poll)
		}
	}
}

// finalize reads the last of a session's output, records how it ended,
// and removes what is left of it in tmux and in the run directory.
func (m *Manager) finalize(ctx context.Context, l *live) {
	log := logrus.WithField("session", l.s.ID)
	lock := m.lock(l.s.ID)
	lock.Lock()
	err := m.drain(ctx, l, true)
	lock.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return // the next daemon resumes from the recorded offset
		}
		log.WithError(err).Error("reading the last output of a session")
	}
	m.mu.Lock()
	status, exit := l.status, l.exit
	m.mu.Unlock()
	if status != "" {
		now := time.Now()
		err := m.transition(ctx, l.s.ID, []string{Running}, status, exit, &now)
		if err != nil && !errors.Is(err, store.ErrStatusChanged) {
			if ctx.Err() == nil {
				log.WithError(err).Error("recording the end of a session")
			}
			return // retried at the next poll
		}
		fields := logrus.Fields{"status": status}
		if exit != nil {
			fields["exit_code"] = *exit
		}
		log.WithFields(fields).Info("session over")
	}
	err = m.o.Host.Client(int(*l.s.OwnerUID)).Kill(ctx, l.s.ID)
	if err != nil && !errors.Is(err, sessionhost.ErrNoSession) && !errors.Is(err, sessionhost.ErrNoHost) {
		log.WithError(err).Warn("removing a finished tmux session")
	}
	lock.Lock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	lock.Unlock()
	os.Remove(l.log)
	os.Remove(m.exitPath(l.s))
	m.mu.Lock()
	if m.live[l.s.ID] == l {
		delete(m.live, l.s.ID)
		delete(m.locks, l.s.ID)
	}
	m.mu.Unlock()
}

// end stops a running session now and records it; the recorder reads its
// last output shortly after.
func (m *Manager) end(ctx context.Context, s store.Session, status string, exit *int) error {
	now := time.Now()
	if err := m.transition(ctx, s.ID, []string{Running}, status, exit, &now); err != nil {
		if errors.Is(err, store.ErrStatusChanged) {
			return fmt.Errorf("session %s ended by itself meanwhile: %w", s.ID, err)
		}
		return err
	}
	m.mu.Lock()
	l := m.live[s.ID]
	if l == nil && s.OwnerUID != nil && m.o.Host != nil {
		// Not recorded yet: its log is still to be read and removed.
		l = m.newLive(s)
		m.live[s.ID] = l
	}
	if l != nil {
		l.status, l.finalizeAt = "", now.Add(2*m.o.Poll)
	}
	m.mu.Unlock()
	if s.OwnerUID != nil && m.o.Host != nil {
		err := m.o.Host.Client(int(*s.OwnerUID)).Kill(ctx, s.ID)
		if err != nil && !errors.Is(err, sessionhost.ErrNoSession) && !errors.Is(err, sessionhost.ErrNoHost) {
			logrus.WithError(err).WithField("session", s.ID).Warn("ending a session in its host; the recorder will see it go")
		}
	}
	return nil
}

// Reconcile runs once at start, before the API serves: sessions the
// database calls running are picked up again if their host still has
// them (output resumes at the recorded offset), recorded as lost if not;
// a start that a crash interrupted leaves nothing behind.
func (m *Manager) Reconcile(ctx context.Context) {
	ss, err := m.o.Store.ListSessions(ctx, store.SessionFilter{Status: []string{Starting, Running}})
	if err != nil {
		logrus.WithError(err).Error("listing running sessions at start")
		return
	}
	panes := m.panesOfAll(ctx, ss)
	for _, s := range ss {
		log := logrus.WithField("session", s.ID)
		if s.OwnerUID == nil || m.o.Host == nil {
			now := time.Now()
			if err := m.transition(ctx, s.ID, []string{Starting, Running}, Lost, nil, &now); err != nil {
				log.WithError(err).Error("recording a session as lost")
			}
			continue
		}
		uid := *s.OwnerUID
		switch {
		case s.Status == Starting:
			// Its start was cut short; no one was told it started, so
			// whatever there is of it goes.
			m.discard(s)
			log.Info("removed a session whose start was interrupted")
		case panes[uid][s.ID]:
			m.track(s)
			log.Info("recording a running session again")
		default:
			l := m.track(s)
			m.mu.Lock()
			l.status, l.finalizeAt = Lost, time.Now()
			m.mu.Unlock()
			log.Warn("session vanished while the daemon was away; recording it as lost")
		}
	}
}

// reconcileBudget bounds how long the start waits for hosts to say which
// sessions they have: a host that does not answer in time is taken to have
// none (its sessions are lost; a host that is merely slow keeps them
// running, unrecorded, until its user ends them).
const reconcileBudget = 5 * time.Second

// panesOfAll asks the hosts of every owner in ss, all at once, which
// sessions they have.
func (m *Manager) panesOfAll(ctx context.Context, ss []store.Session) map[int64]map[string]bool {
	out := map[int64]map[string]bool{}
	if m.o.Host == nil {
		return out
	}
	for _, s := range ss {
		if s.OwnerUID != nil {
			out[*s.OwnerUID] = map[string]bool{}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, reconcileBudget)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for uid := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps, err := m.o.Host.Client(int(uid)).Panes(ctx)
			if err != nil && !errors.Is(err, sessionhost.ErrNoHost) {
				logrus.WithError(err).WithField("uid", uid).Warn("asking a session host about its sessions at start")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range ps {
				out[uid][p.Session] = true
			}
		}()
	}
	wg.Wait()
	return out
}
