package sessionhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/peercred"
	"github.com/instruktai/teleclaude/internal/sdnotify"
	"github.com/instruktai/teleclaude/internal/socket"
	"github.com/instruktai/teleclaude/internal/tmux"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// HostOptions configure the host process, `teleclaude session-host`.
type HostOptions struct {
	Dir  string // RUN_DIR/users/<uid>: made by the daemon for this user
	Tmux string // the tmux program
	Self string // this program: sessions run `Self session-exec`
}

// specTTL bounds how long an agent's spec (its API keys) waits in memory
// for a launcher that never came.
const specTTL = time.Minute

// host is the running host process.
type host struct {
	o         HostOptions
	uid       int // ours: the sessions' owner
	daemonUID int // the daemon's: the owner of Dir
	srv       *tmux.Server
	sock      string

	mu      sync.Mutex
	specs   map[string]pendingSpec
	started map[string]chan string // sessions whose launcher has yet to report
}

type pendingSpec struct {
	spec Spec
	at   time.Time
}

// RunHost is the host process: it runs as the sessions' owner, keeps their
// tmux server, and answers on Dir/host.sock until ctx ends. The daemon
// never talks to the owner's tmux itself: a tmux server can make its
// clients open files, and run programs, with the client's credentials.
func RunHost(ctx context.Context, o HostOptions) error {
	if err := shedCapabilities(); err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	h := &host{o: o, uid: os.Getuid(), specs: map[string]pendingSpec{}, started: map[string]chan string{}, sock: filepath.Join(o.Dir, "host.sock")}
	st, err := os.Stat(o.Dir)
	if err != nil {
		return fmt.Errorf("session host: %w (the daemon makes this directory before it starts the host)", err)
	}
	if filepath.Base(o.Dir) != strconv.Itoa(h.uid) {
		return fmt.Errorf("session host: %s is not the directory of uid %d", o.Dir, h.uid)
	}
	own, ok := fileown.Of(st)
	if !ok {
		return fmt.Errorf("session host: cannot tell who owns %s", o.Dir)
	}
	h.daemonUID = own.UID
	h.srv = &tmux.Server{Bin: o.Tmux, Socket: filepath.Join(o.Dir, "tmux.sock"), Env: os.Environ()}
	h.retireOthers()
	h.adoptTmux(ctx)
	if err := h.ensureTmux(ctx); err != nil {
		return err
	}
	ln, err := socket.Listen(socket.Options{Path: h.sock, Mode: 0o660})
	if err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	defer ln.Close()
	sdnotify.Ready()
	logrus.WithFields(logrus.Fields{"uid": h.uid, "daemon_uid": h.daemonUID, "socket": h.sock}).Info("session host ready")
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				sdnotify.Stopping()
				return nil
			}
			return fmt.Errorf("session host: accept: %w", err)
		}
		go h.serve(ctx, c)
	}
}

// HistoryLimit is the scrollback, in lines, that each owner's tmux server
// keeps per pane for people who attach. tmux does that work for every
// line a program writes, recorded or not (about a third more of its CPU
// in a flood than its default of 2000), which is why the recording
// benchmark gives its bare tmux reference the same limit.
const HistoryLimit = 50000

// ensureTmux starts the owner's tmux server unless one answers. Its
// options come on the command line: no configuration file of anyone's is
// read by it. The server outlives the sessions in it; a dead pane stays
// until the daemon has read its output and status.
func (h *host) ensureTmux(ctx context.Context) error {
	if _, err := h.srv.PID(ctx); err == nil {
		return nil
	}
	_, err := h.srv.Run(ctx, nil, "-f", "/dev/null", "start-server", ";",
		"set", "-g", "exit-empty", "off", ";", "set", "-g", "remain-on-exit", "on", ";",
		"set", "-g", "default-size", "200x50", ";", "set", "-g", "history-limit", strconv.Itoa(HistoryLimit))
	if err != nil {
		return fmt.Errorf("session host: start tmux: %w", err)
	}
	return nil
}

func (h *host) serve(ctx context.Context, c net.Conn) {
	defer c.Close()
	// Within the daemon's own time for the call (timeoutOf): what the
	// daemon gave up on must not still be done afterwards.
	begun := time.Now()
	c.SetDeadline(begun.Add(callTimeout - time.Second))
	creds, err := peercred.Get(c)
	if err != nil {
		return
	}
	var req Request
	if err := readMessage(c, &req, maxRequest); err != nil {
		writeMessage(c, Response{Error: err.Error()})
		return
	}
	timeout := timeoutOf(req.Op)
	c.SetDeadline(begun.Add(timeout - time.Second))
	ctx, cancel := context.WithTimeout(ctx, timeout-2*time.Second-time.Since(begun))
	defer cancel()
	writeMessage(c, h.handle(ctx, creds.UID, req))
}

func (h *host) handle(ctx context.Context, peer int, req Request) Response {
	h.expireSpecs()
	fromDaemon := peer == h.daemonUID
	fromOwner := peer == h.uid
	// The daemon drives sessions; the owner's launcher only takes its spec
	// (in single-user mode the two are one uid).
	allowed := fromDaemon
	switch req.Op {
	case OpPing:
		allowed = fromDaemon || fromOwner
	case OpSpec, OpStarted:
		allowed = fromOwner
	}
	if !allowed {
		return Response{Error: fmt.Sprintf("uid %d may not ask for %q", peer, req.Op)}
	}
	if req.Op != OpPing && req.Op != OpPanes && !sessionID.MatchString(req.Session) {
		return Response{Error: fmt.Sprintf("bad session id %q", req.Session)}
	}
	var err error
	switch req.Op {
	case OpPing:
		return Response{PID: os.Getpid()}
	case OpSpec:
		return h.takeSpec(req.Session)
	case OpStarted:
		return h.reportStarted(req.Session, req.Problem)
	case OpStart:
		return h.start(ctx, req)
	case OpPanes:
		var panes []tmux.Pane
		panes, err = h.srv.Panes(ctx)
		if errors.Is(err, tmux.ErrNoServer) {
			// The socket may be gone under a live server (the run
			// directory being emptied): have it make the socket again
			// before answering, since "no sessions" makes the daemon
			// record them lost.
			h.adoptTmux(ctx)
			panes, err = h.srv.Panes(ctx)
		}
		if errors.Is(err, tmux.ErrNoServer) {
			if len(h.socketlessTmux()) > 0 {
				return Response{Error: "the tmux server runs but its socket " + h.srv.Socket + " is gone and was not made again"}
			}
			return Response{} // no server: no sessions
		} else if err == nil {
			return Response{Panes: panes}
		}
	case OpPaste:
		err = h.srv.Paste(ctx, req.Session, req.Text, req.Enter)
	case OpKill:
		err = h.srv.KillSession(ctx, req.Session)
	default:
		return Response{Error: fmt.Sprintf("unknown operation %q", req.Op)}
	}
	if errors.Is(err, tmux.ErrNoSession) || errors.Is(err, tmux.ErrNoServer) {
		return Response{NoSession: true, Error: err.Error()}
	}
	if err != nil {
		return Response{Error: err.Error()}
	}
	return Response{}
}

// start creates the session's files and its tmux session. The files are
// the owner's, in the daemon's directory; its default ACL lets the daemon
// read the output log (and free what it has read) and the exit status.
func (h *host) start(ctx context.Context, req Request) Response {
	if len(req.Argv) == 0 || !filepath.IsAbs(req.Dir) {
		return Response{Error: "a session needs a command and an absolute directory"}
	}
	// We run as the owner: access(2) asks exactly whether they may enter.
	if err := unix.Access(req.Dir, unix.X_OK); err != nil {
		return Response{Error: cannotEnter(h.uid, req.Dir, err).Error()}
	}
	if st, err := os.Stat(req.Dir); err != nil || !st.IsDir() {
		return Response{Error: fmt.Sprintf("the project directory %s is not a directory: %v", req.Dir, err)}
	}
	logPath := filepath.Join(h.o.Dir, req.Session+".out")
	exitPath := filepath.Join(h.o.Dir, req.Session+".exit")
	for _, p := range []string{logPath, exitPath} {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o660)
		if err != nil {
			os.Remove(logPath)
			return Response{Error: err.Error()}
		}
		f.Close()
	}
	report := make(chan string, 1)
	h.mu.Lock()
	h.specs[req.Session] = pendingSpec{Spec{Argv: req.Argv, Env: req.Env, Dir: req.Dir, Exit: exitPath}, time.Now()}
	h.started[req.Session] = report
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.started, req.Session)
		h.mu.Unlock()
	}()
	fail := func(err error) Response {
		h.mu.Lock()
		delete(h.specs, req.Session)
		h.mu.Unlock()
		h.srv.KillSession(context.WithoutCancel(ctx), req.Session)
		os.Remove(logPath)
		os.Remove(exitPath)
		return Response{Error: err.Error()}
	}
	if err := h.ensureTmux(ctx); err != nil {
		return fail(err)
	}
	argv := []string{h.o.Self, "session-exec", "--host", h.sock, "--session", req.Session}
	if err := h.srv.NewSession(ctx, req.Session, req.Dir, argv, "exec cat >> "+shellQuote(logPath)); err != nil {
		return fail(err)
	}
	// Acknowledged only once the launcher runs as the owner in the
	// project directory with its program found: a start that cannot work
	// fails here, with its cause, and leaves nothing behind.
	select {
	case problem := <-report:
		if problem != "" {
			return fail(errors.New(problem))
		}
	case <-ctx.Done():
		return fail(fmt.Errorf("the session's program did not start within %s", callTimeout-2*time.Second))
	}
	return Response{Log: logPath, Exit: exitPath}
}

// reportStarted passes the launcher's report to the start waiting for it.
func (h *host) reportStarted(id, problem string) Response {
	h.mu.Lock()
	ch, ok := h.started[id]
	delete(h.started, id)
	h.mu.Unlock()
	if !ok {
		return Response{NoSession: true, Error: "no start waits for session " + id}
	}
	if len(problem) > maxErrorLen {
		problem = problem[:maxErrorLen] + "…"
	}
	ch <- problem
	return Response{}
}

// takeSpec hands a session's spec to its launcher, once.
func (h *host) takeSpec(id string) Response {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.specs[id]
	if !ok {
		return Response{NoSession: true, Error: "no spec for session " + id + " (already taken, or expired)"}
	}
	delete(h.specs, id)
	return Response{Spec: &p.spec}
}

func (h *host) expireSpecs() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, p := range h.specs {
		if time.Since(p.at) > specTTL {
			delete(h.specs, id)
		}
	}
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
