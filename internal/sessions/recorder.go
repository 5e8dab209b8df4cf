package sessions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/instruktai/teleclaude/internal/ansi"
	"github.com/instruktai/teleclaude/internal/store"
	"github.com/instruktai/teleclaude/internal/tmux"
	"github.com/sirupsen/logrus"
)

// The recorder: every running session's pane output goes to a log file
// (tmux pipe-pane, written as the owner); the daemon reads each log from
// the offset the database holds, strips escape sequences and appends the
// text to the transcript together with the new offset. It also follows
// each pane's process and records how the session ended.

// maxRead bounds one read of one log, so one chatty session cannot hold up
// the others or the memory.
const maxRead = 1 << 20

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
}

// statusWait is how long a dead pane may go without an exit status before
// the session is recorded as exited with an unknown code.
const statusWait = 3 * time.Second

func (m *Manager) track(s store.Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live[s.ID] = &live{s: s, log: m.logPath(s), offset: s.OutputOffset}
}

// Run records output and follows status until ctx ends. It starts by
// reconciling what the database says is running with what tmux has.
func (m *Manager) Run(ctx context.Context) {
	m.reconcile(ctx)
	t := time.NewTicker(m.o.Poll)
	defer t.Stop()
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
		due := !l.finalizeAt.IsZero() && !now.Before(l.finalizeAt)
		m.mu.Unlock()
		if due {
			m.finalize(ctx, l)
			continue
		}
		if err := m.drain(ctx, l, false); err != nil && ctx.Err() == nil {
			logrus.WithError(err).WithField("session", l.s.ID).Warn("reading session output")
		}
	}
}

// drain moves new output from l's log into the transcript. final reads to
// the end and drops an unfinished escape sequence there.
func (m *Manager) drain(ctx context.Context, l *live, final bool) error {
	lock := m.lock(l.s.ID)
	lock.Lock()
	defer lock.Unlock()
	if l.f == nil {
		f, err := openLog(l.log, m.o.DaemonUID)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		l.f = f
	}
	f := l.f
	for {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		avail := st.Size() - l.offset
		if avail <= 0 {
			return nil
		}
		buf := make([]byte, min(avail, maxRead))
		if _, err := f.ReadAt(buf, l.offset); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		text, n := ansi.Strip(buf, final && avail <= maxRead)
		if n == 0 {
			return nil // only the start of a sequence so far
		}
		entries := outputEntries(text)
		if _, err := m.o.Store.AppendOutput(ctx, l.s.ID, l.offset+int64(n), entries...); err != nil {
			return err
		}
		l.offset += int64(n)
		if !final && avail <= maxRead {
			return nil
		}
	}
}

// readExit reads the exit status the launcher wrote, nil when there is
// none (yet). Like the log, only the file the daemon created is read.
func readExit(path string, daemonUID int) *int {
	f, err := openLog(path, daemonUID)
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

// openLog opens a session's output log for reading. The owner may write
// in the directory the log is in (tmux puts its socket there), so the name
// proves nothing: it could have been replaced by a link to a file only the
// daemon may read (the database, the secrets). Only a regular file that
// the daemon itself owns, with no other link to it, is the log the daemon
// created; nothing else is read.
func openLog(path string, daemonUID int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("output log %s has been replaced by a symbolic link; not reading it", path)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.Mode().IsRegular() || !ok || int(sys.Uid) != daemonUID || sys.Nlink != 1 {
		f.Close()
		return nil, fmt.Errorf("output log %s is not the file the daemon created (mode %v); not reading it", path, st.Mode())
	}
	return f, nil
}

// pollStatus asks each owner's tmux server about its panes: a dead pane's
// program has exited; a session or server that is gone is lost.
func (m *Manager) pollStatus(ctx context.Context) {
	byUID := map[int64][]*live{}
	m.mu.Lock()
	for _, l := range m.live {
		if l.finalizeAt.IsZero() {
			byUID[*l.s.OwnerUID] = append(byUID[*l.s.OwnerUID], l)
		}
	}
	m.mu.Unlock()
	for uid, ls := range byUID {
		panes, err := m.o.Host.Server(int(uid)).Panes(ctx)
		if err != nil && !errors.Is(err, tmux.ErrNoServer) {
			if ctx.Err() == nil {
				logrus.WithError(err).WithField("uid", uid).Warn("asking tmux about sessions")
			}
			continue
		}
		byName := map[string]tmux.Pane{}
		for _, p := range panes {
			byName[p.Session] = p
		}
		m.mu.Lock()
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
			exit := readExit(m.exitPath(l.s), m.o.DaemonUID)
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
		m.mu.Unlock()
	}
}

// finalize reads the last of a session's output, records how it ended,
// and removes what is left of it in tmux and in the run directory.
func (m *Manager) finalize(ctx context.Context, l *live) {
	log := logrus.WithField("session", l.s.ID)
	if err := m.drain(ctx, l, true); err != nil {
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
		if err := m.setStatus(ctx, l.s.ID, status, exit, &now); err != nil {
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
	srv := m.o.Host.Server(int(*l.s.OwnerUID))
	if err := srv.KillSession(ctx, l.s.ID); err != nil && !errors.Is(err, tmux.ErrNoSession) && !errors.Is(err, tmux.ErrNoServer) {
		log.WithError(err).Warn("removing a finished tmux session")
	}
	lock := m.lock(l.s.ID)
	lock.Lock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	lock.Unlock()
	os.Remove(l.log)
	os.Remove(m.exitPath(l.s))
	m.mu.Lock()
	delete(m.live, l.s.ID)
	delete(m.locks, l.s.ID)
	m.mu.Unlock()
}

// end stops a running session now and records status at once; the
// recorder reads its last output shortly after.
func (m *Manager) end(ctx context.Context, s store.Session, status string, exit *int) error {
	m.mu.Lock()
	l := m.live[s.ID]
	if l == nil && s.OwnerUID != nil && m.o.Host != nil {
		// Not recorded yet (the daemon has just started): its log is
		// still to be read and removed.
		l = &live{s: s, log: m.logPath(s), offset: s.OutputOffset}
		m.live[s.ID] = l
	}
	if l != nil {
		l.status, l.finalizeAt = "", time.Now().Add(2*m.o.Poll)
	}
	m.mu.Unlock()
	if s.OwnerUID != nil && m.o.Host != nil {
		err := m.o.Host.Server(int(*s.OwnerUID)).KillSession(ctx, s.ID)
		if err != nil && !errors.Is(err, tmux.ErrNoSession) && !errors.Is(err, tmux.ErrNoServer) {
			return err
		}
	}
	now := time.Now()
	return m.setStatus(ctx, s.ID, status, exit, &now)
}

// reconcile runs once at start: sessions the database calls running are
// picked up again if tmux still has them (output resumes at the recorded
// offset), recorded as lost if not; a start that a crash interrupted
// leaves nothing behind.
func (m *Manager) reconcile(ctx context.Context) {
	ss, err := m.o.Store.ListSessions(ctx, store.SessionFilter{Status: []string{Starting, Running}})
	if err != nil {
		logrus.WithError(err).Error("listing running sessions at start")
		return
	}
	panes := map[int64]map[string]bool{}
	for _, s := range ss {
		log := logrus.WithField("session", s.ID)
		if s.OwnerUID == nil || m.o.Host == nil {
			now := time.Now()
			if err := m.setStatus(ctx, s.ID, Lost, nil, &now); err != nil {
				log.WithError(err).Error("recording a session as lost")
			}
			continue
		}
		uid := *s.OwnerUID
		if panes[uid] == nil {
			panes[uid] = map[string]bool{}
			ps, err := m.o.Host.Server(int(uid)).Panes(ctx)
			if err != nil && !errors.Is(err, tmux.ErrNoServer) {
				log.WithError(err).Warn("asking tmux about sessions at start")
			}
			for _, p := range ps {
				panes[uid][p.Session] = true
			}
		}
		switch {
		case panes[uid][s.ID]:
			if s.Status == Starting {
				if err := m.setStatus(ctx, s.ID, Running, nil, nil); err != nil {
					log.WithError(err).Error("recording a session as running")
					continue
				}
			}
			m.track(s)
			log.Info("recording a running session again")
		case s.Status == Starting:
			m.discard(s)
			log.Info("removed a session whose start was interrupted")
		default:
			m.track(s)
			m.mu.Lock()
			l := m.live[s.ID]
			l.status, l.finalizeAt = Lost, time.Now()
			m.mu.Unlock()
			log.Warn("session vanished while the daemon was away; recording it as lost")
		}
	}
}

// maxEntry bounds one transcript entry, so that a page of entries stays a
// reasonable answer; longer output is split at character boundaries.
const maxEntry = 64 << 10

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
