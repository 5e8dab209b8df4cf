package sessions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
	maxRead     = 4 << 20
	readPerPoll = 4 << 20
)

// rawPerKept bounds how much terminal data is read for each byte the
// transcript may keep: output that is nearly all escape sequences (or a
// log its owner made a huge sparse file) is skipped past that, not read
// to its end.
const rawPerKept = 4

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
	// stored is how many bytes of output its transcript holds (known once
	// storedKnown): the limit counts what is kept, not terminal data.
	// skipped counts the log bytes passed over since, for the final note.
	// Both guarded by the session's lock.
	stored      int64
	storedKnown bool
	skipped     int64
	limitNoted  bool
	// more: the last drain stopped at readPerPoll with more to read.
	more bool
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

// busyPoll is how soon the logs are read again after a poll that found
// output: a session printing a lot is recorded as it goes (and a backlog
// left by readPerPoll is read on at once), while idle sessions cost one
// look per Poll.
const busyPoll = 20 * time.Millisecond

// Run records output and follows status until ctx ends. Call Reconcile
// first. The loop only reads files; whatever asks a host (a status check,
// ending a finished session) runs beside it, so that one user's slow or
// silent host delays nobody else's transcript.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTimer(m.o.Poll)
	defer t.Stop()
	defer m.bg.Wait()
	lastStatus := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next := m.o.Poll
		switch m.pollOutput(ctx) {
		case pollBacklog:
			next = 0
		case pollRead:
			next = min(busyPoll, m.o.Poll)
		default:
			m.dropBuf()
		}
		if time.Since(lastStatus) >= 4*m.o.Poll {
			m.pollStatus(ctx)
			lastStatus = time.Now()
		}
		t.Reset(next)
	}
}

// What a poll of the logs found.
type pollResult int

const (
	pollIdle    pollResult = iota // nothing new
	pollRead                      // output, all of it read
	pollBacklog                   // more than one poll reads of a log
)

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

func (m *Manager) pollOutput(ctx context.Context) pollResult {
	now := time.Now()
	res := pollIdle
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
		before := l.offset
		err := m.drain(ctx, l, false)
		// One that failed (its database unavailable, say) waits for the
		// next Poll rather than be tried again at once.
		switch {
		case err != nil:
		case l.more:
			res = pollBacklog
		case l.offset != before:
			res = max(res, pollRead)
		}
		lock.Unlock()
		if err != nil && ctx.Err() == nil {
			m.warn(l, "reading session output", err)
		}
	}
	return res
}

// drain moves output from l's log into the transcript, the caller holding
// the session's lock. It reads no further than the log's size when it
// starts (its owner may keep writing to it, or make it a huge sparse
// file), at most readPerPoll unless final. A backlog is read a share per
// poll and kept until the transcript holds MaxOutput bytes; what comes
// after is passed over and counted, and the final read notes how much.
// final reads to that end and drops an unfinished escape sequence there.
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
	if !l.storedKnown {
		n, err := m.o.Store.OutputBytes(ctx, l.s.ID)
		if err != nil {
			return err
		}
		l.stored, l.storedKnown = n, true
	}
	st, err := l.f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	defer func() { l.more = l.offset < end }()
	for read := int64(0); l.offset < end && (final || read < readPerPoll); {
		if l.stored >= m.o.MaxOutput || l.offset >= rawPerKept*m.o.MaxOutput {
			if err := m.skip(ctx, l, end); err != nil {
				return err
			}
			break
		}
		bufs := m.getBuf()
		buf := bufs.raw[:min(end-l.offset, maxRead)]
		if _, err := l.f.ReadAt(buf, l.offset); err != nil && !errors.Is(err, io.EOF) {
			m.putBuf(bufs)
			return err
		}
		text, n := ansi.AppendStrip(bufs.text[:0], buf, final && l.offset+int64(len(buf)) == end)
		if n == 0 {
			m.putBuf(bufs)
			return nil // only the start of a sequence so far
		}
		entries, kept := m.keep(l, text)
		// The entries hold strings of their own: the buffers may go back.
		bufs.text = text
		m.putBuf(bufs)
		if _, err := m.o.Store.AppendOutput(ctx, l.s.ID, l.offset+int64(n), entries...); err != nil {
			return err
		}
		l.offset += int64(n)
		l.stored += kept
		read += int64(n)
		// What is in the transcript need not stay in memory (the log is
		// on tmpfs): give back the pages read.
		punchHole(l.f, l.offset)
	}
	if final && l.skipped > 0 {
		note := store.TranscriptEntry{Direction: "out", Content: fmt.Sprintf("\n[teleclaude: %d bytes of output after the transcript's limit were not kept]\n", l.skipped)}
		if _, err := m.o.Store.AppendOutput(ctx, l.s.ID, l.offset, note); err != nil {
			return err
		}
		l.skipped = 0
	}
	return nil
}

// skip moves past the log up to end without reading it, counting what it
// passes over; the transcript said why when the limit was reached, or
// says it now if the reason is terminal data with hardly any text.
func (m *Manager) skip(ctx context.Context, l *live, end int64) error {
	var entries []store.TranscriptEntry
	switch {
	case l.stored < m.o.MaxOutput:
		entries = append(entries, store.TranscriptEntry{Direction: "out", Content: fmt.Sprintf("\n[teleclaude: this session wrote %d MiB of terminal data with only %d bytes of text in it; the rest is not kept]\n", l.offset>>20, l.stored)})
		l.stored, l.limitNoted = m.o.MaxOutput, true
	case !l.limitNoted:
		entries = append(entries, m.limitNote(0))
		l.limitNoted = true
	}
	if _, err := m.o.Store.AppendOutput(ctx, l.s.ID, end, entries...); err != nil {
		return err
	}
	l.skipped += end - l.offset
	l.offset = end
	punchHole(l.f, l.offset)
	return nil
}

// keep returns the entries for text and how many bytes of it they keep:
// all of it while the transcript holds less than MaxOutput, then up to
// it, with a line saying the limit was reached and how much of this
// output went; nothing after.
func (m *Manager) keep(l *live, text []byte) ([]store.TranscriptEntry, int64) {
	room := m.o.MaxOutput - l.stored
	switch {
	case room <= 0:
		l.skipped += int64(len(text))
		return nil, 0
	case int64(len(text)) <= room:
		return outputEntries(text), int64(len(text))
	}
	cut := int(room)
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	l.skipped += int64(len(text) - cut)
	l.limitNoted = true
	// The note counts against nothing: the limit is what the session wrote.
	return append(outputEntries(text[:cut]), m.limitNote(len(text)-cut)), room
}

func (m *Manager) limitNote(cut int) store.TranscriptEntry {
	return store.TranscriptEntry{Direction: "out", Content: fmt.Sprintf("\n[teleclaude: this session's transcript reached its limit of %d bytes (sessions.transcript_max_bytes); %d bytes of this output and all after it are not kept]\n", m.o.MaxOutput, cut)}
}

// drainBuf is what one read of a log needs: the raw bytes, and their
// text. A busy session reads maxRead at a time, every poll; allocating
// both each time cost a flood more in zeroing and garbage collection than
// stripping it did. Kept by the Manager while output comes (sessions read
// in turn) and given back to the collector when a poll finds none. Not a
// sync.Pool alone: a pool is emptied by every second collection, and a
// flood's appends collect more than once between two reads, so nearly
// every read of a flood found the pool empty and zeroed 8 MiB anew.
type drainBuf struct{ raw, text []byte }

var drainBufs = sync.Pool{New: func() any {
	return &drainBuf{raw: make([]byte, maxRead), text: make([]byte, 0, maxRead)}
}}

// getBuf returns the kept buffers, or others if a read beside the
// recorder's loop (a finalize) has them.
func (m *Manager) getBuf() *drainBuf {
	m.mu.Lock()
	b := m.buf
	m.buf = nil
	m.mu.Unlock()
	if b == nil {
		b = drainBufs.Get().(*drainBuf)
	}
	return b
}

// putBuf keeps b for the next read, or pools it if buffers are kept.
func (m *Manager) putBuf(b *drainBuf) {
	m.mu.Lock()
	keep := m.buf == nil
	if keep {
		m.buf = b
	}
	m.mu.Unlock()
	if !keep {
		drainBufs.Put(b)
	}
}

// dropBuf gives the kept buffers up once output stops: an idle daemon
// holds no 8 MiB.
func (m *Manager) dropBuf() {
	m.mu.Lock()
	b := m.buf
	m.buf = nil
	m.mu.Unlock()
	if b != nil {
		drainBufs.Put(b)
	}
}

// outputEntries splits text into entries of at most maxEntry bytes; they
// share one copy of it.
func outputEntries(text []byte) []store.TranscriptEntry {
	var out []store.TranscriptEntry
	all := string(text)
	for len(all) > 0 {
		n := min(len(all), maxEntry)
		for n < len(all) && n > 0 && !utf8.RuneStart(all[n]) {
			n--
		}
		if n == 0 {
			n = min(len(all), maxEntry)
		}
		out = append(out, store.TranscriptEntry{Direction: "out", Content: all[:n]})
		all = all[n:]
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
	return validExit(&code)
}

// validExit keeps an exit status a process can have, 0 to 255 (a signal
// death is 128 plus the signal, as the launcher's shell records it); the
// file is the owner's to write, and anything else is not a status: it is
// recorded as unknown.
func validExit(code *int) *int {
	if code == nil || *code < 0 || *code > 255 {
		return nil
	}
	return code
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
	panes, err := m.panes(ctx, uid)
	if err != nil {
		// Only a host that answers may say a session is gone: one that
		// cannot be asked proves nothing, and its sessions stay running.
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
			exit = validExit(p.Exit)
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
	log := logrus.WithFields(sessionFields(l.s))
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
	m.removeFiles(l.s)
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

// Reconcile runs once at start, before the API serves and before the
// daemon tells its service manager it is ready. Sessions the database calls
// running are picked up again if their host has them (a host that is gone
// is started again and finds the tmux server the old one left; output
// resumes at the recorded offset). They are recorded as lost only when
// provably gone: their host answers without them, or neither a host nor its
// tmux server's socket is left (after a reboot, /run is empty). A host that
// cannot be asked now proves nothing: its sessions stay running and the
// recorder asks again. A start that a crash interrupted leaves nothing
// behind. So a session is never listed as running when it is known not to.
func (m *Manager) Reconcile(ctx context.Context) {
	ss, err := m.o.Store.ListSessions(ctx, store.SessionFilter{Status: []string{Starting, Running}})
	if err != nil {
		logrus.WithError(err).Error("listing running sessions at start")
		return
	}
	panes, unknown := m.panesOfAll(ctx, ss)
	for _, s := range ss {
		log := logrus.WithFields(sessionFields(s))
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
		case unknown[uid]:
			// Its host cannot say now, but its tmux server may still run:
			// not lost on a guess. The recorder asks again.
			m.track(s)
			log.Warn("the session host does not answer at start; the session stays running until it is known")
		default:
			// Gone: recorded now, so that nobody is shown it running;
			// the recorder then reads what was left of its output.
			now := time.Now()
			if err := m.transition(ctx, s.ID, []string{Running}, Lost, nil, &now); err != nil && !errors.Is(err, store.ErrStatusChanged) {
				log.WithError(err).Error("recording a session as lost")
			}
			l := m.track(s)
			m.mu.Lock()
			l.status, l.finalizeAt = "", now
			m.mu.Unlock()
			log.Warn("session vanished while the daemon was away (its session host does not have it); recorded as lost")
		}
	}
}

// sessionFields are what every log line about a session names.
func sessionFields(s store.Session) logrus.Fields {
	f := logrus.Fields{"session": s.ID, "project": s.Project}
	if s.OwnerPerson != nil {
		f["person"] = *s.OwnerPerson
	}
	return f
}

// reconcileBudget bounds how long the start waits for hosts to say which
// sessions they have: a host that does not answer in time keeps its
// sessions running, and the recorder asks it again.
const reconcileBudget = 10 * time.Second

// panesOfAll asks the hosts of every owner in ss, all at once, which
// sessions they have, starting a host that is gone. Owners whose sessions
// cannot be known now are in unknown: no answer while their tmux server's
// socket is still there. No answer and no tmux socket means the sessions
// are gone, as does a host answering without them.
func (m *Manager) panesOfAll(ctx context.Context, ss []store.Session) (panes map[int64]map[string]bool, unknown map[int64]bool) {
	out := map[int64]map[string]bool{}
	unknown = map[int64]bool{}
	if m.o.Host == nil {
		return out, unknown
	}
	uids := map[int64]bool{}
	for _, s := range ss {
		if s.OwnerUID != nil && s.Status == Running {
			uids[*s.OwnerUID] = true
		}
	}
	ctx, cancel := context.WithTimeout(ctx, reconcileBudget)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for uid := range uids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps, err := m.panes(ctx, int(uid))
			mu.Lock()
			defer mu.Unlock()
			out[uid] = map[string]bool{}
			if err != nil {
				_, serr := os.Lstat(filepath.Join(m.o.Host.Dir(int(uid)), "tmux.sock"))
				if !errors.Is(serr, fs.ErrNotExist) {
					unknown[uid] = true
					logrus.WithError(err).WithField("uid", uid).Warn("asking a session host about its sessions at start")
				}
				return
			}
			for _, p := range ps {
				out[uid][p.Session] = true
			}
		}()
	}
	wg.Wait()
	return out, unknown
}

// panes asks uid's host which sessions its tmux server has. A host that is
// gone (killed, crashed) is started again first: the new one finds the tmux
// server the old one left, with the sessions in it, and reports them.
func (m *Manager) panes(ctx context.Context, uid int) ([]tmux.Pane, error) {
	ps, err := m.o.Host.Client(uid).Panes(ctx)
	if !errors.Is(err, sessionhost.ErrNoHost) {
		return ps, err
	}
	c, err := m.hostFor(ctx, uid)
	if err != nil {
		return nil, err
	}
	return c.Panes(ctx)
}

// hostFor returns uid's host client, starting the host if none answers.
func (m *Manager) hostFor(ctx context.Context, uid int) (*sessionhost.Client, error) {
	owner, err := sessionhost.LookupOwner(uid)
	if err != nil {
		return nil, fmt.Errorf("the owner of uid %d: %w", uid, err)
	}
	return m.o.Host.Ensure(ctx, owner)
}
