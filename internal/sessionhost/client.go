package sessionhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/ansi"
	"github.com/instruktai/teleclaude/internal/peercred"
	"github.com/instruktai/teleclaude/internal/tmux"
)

// ErrNoHost: no host process answers for the user.
var ErrNoHost = errors.New("no session host")

// callTimeout bounds every call to a host: a host is the user's own
// process, which they may stop or replace, and a stuck one must not hold
// up anyone else's sessions. A start gets longer: on a busy machine many
// starts queue at one tmux server, and a start given up on is a session
// thrown away.
const (
	callTimeout  = 10 * time.Second
	startTimeout = 25 * time.Second
)

// timeoutOf is how long a call of op may take, end to end.
func timeoutOf(op string) time.Duration {
	if op == OpStart {
		return startTimeout
	}
	return callTimeout
}

// Client talks to one user's host.
type Client struct {
	uid  int
	sock string
}

func (c *Client) call(ctx context.Context, req Request) (Response, error) {
	timeout := timeoutOf(req.Op)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.sock)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return Response{}, fmt.Errorf("uid %d: %w", c.uid, ErrNoHost)
		}
		return Response{}, c.inWords(ctx, timeout, err)
	}
	defer conn.Close()
	// The socket's path is in a directory its user may write: only a
	// process of that user is their host, whatever the path leads to.
	creds, err := peercred.Get(conn)
	if err != nil {
		return Response{}, fmt.Errorf("session host of uid %d: %w", c.uid, err)
	}
	if creds.UID != c.uid {
		return Response{}, fmt.Errorf("the session host socket of uid %d is served by uid %d; not using it", c.uid, creds.UID)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// A caller that gives up (the daemon stopping) is not held by a host
	// that never answers.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := writeMessage(conn, req); err != nil {
		return Response{}, c.inWords(ctx, timeout, err)
	}
	var resp Response
	if err := readMessage(conn, &resp, maxResponse); err != nil {
		return Response{}, c.inWords(ctx, timeout, err)
	}
	// The host is its user's process: what it says is kept short, and
	// on one line without escapes, for it reaches the daemon's log.
	if len(resp.Error) > maxErrorLen {
		resp.Error = resp.Error[:maxErrorLen] + "…"
	}
	resp.Error = ansi.OneLine(resp.Error)
	if len(resp.Panes) > maxPanes {
		return Response{}, fmt.Errorf("session host of uid %d answered with %d panes; not believing it", c.uid, len(resp.Panes))
	}
	if resp.NoSession {
		return resp, fmt.Errorf("%s: %w", resp.Error, ErrNoSession)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

// Ping checks that the host answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.call(ctx, Request{Op: OpPing})
	return err
}

// StartSession starts a session running argv in dir with env added, and
// returns where its output log and exit status are.
func (c *Client) StartSession(ctx context.Context, id, dir string, argv []string, env map[string]string) (logPath, exitPath string, err error) {
	resp, err := c.call(ctx, Request{Op: OpStart, Session: id, Dir: dir, Argv: argv, Env: env})
	if err != nil {
		return "", "", err
	}
	return resp.Log, resp.Exit, nil
}

// Panes returns the state of every session's pane.
func (c *Client) Panes(ctx context.Context) ([]tmux.Pane, error) {
	resp, err := c.call(ctx, Request{Op: OpPanes})
	return resp.Panes, err
}

// Paste types text into a session, then Enter if enter.
func (c *Client) Paste(ctx context.Context, id, text string, enter bool) error {
	_, err := c.call(ctx, Request{Op: OpPaste, Session: id, Text: text, Enter: enter})
	return err
}

// Kill ends a session.
func (c *Client) Kill(ctx context.Context, id string) error {
	_, err := c.call(ctx, Request{Op: OpKill, Session: id})
	return err
}

// TakeSpec is the launcher's call, as the owner: what its session runs.
func TakeSpec(ctx context.Context, sock, id string, uid int) (*Spec, error) {
	c := &Client{uid: uid, sock: sock}
	resp, err := c.call(ctx, Request{Op: OpSpec, Session: id})
	if err != nil {
		return nil, err
	}
	if resp.Spec == nil {
		return nil, errors.New("the session host sent no spec")
	}
	return resp.Spec, nil
}

// ReportStarted is the launcher's call, as the owner: its program runs in
// the project directory (problem ""), or why it cannot.
func ReportStarted(ctx context.Context, sock, id string, uid int, problem string) error {
	c := &Client{uid: uid, sock: sock}
	_, err := c.call(ctx, Request{Op: OpStarted, Session: id, Problem: problem})
	return err
}

// inWords says what went wrong with a call in words a person can act on;
// the socket's own text (a path, "i/o timeout", "broken pipe") stays in
// the chain for the log.
func (c *Client) inWords(ctx context.Context, timeout time.Duration, err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &CallError{Msg: fmt.Sprintf("the session host of uid %d did not answer within %s: the machine is busy or the host is stuck; try again shortly", c.uid, timeout), Err: err}
	case ctx.Err() != nil:
		return &CallError{Msg: fmt.Sprintf("the call to the session host of uid %d was given up", c.uid), Err: err}
	default:
		return &CallError{Msg: fmt.Sprintf("the session host of uid %d broke off the call without answering (it may have been stopped or restarted); try again", c.uid), Err: err}
	}
}

// CallError is a call to a host that got no answer: Msg says so in words,
// Err is the socket's error.
type CallError struct {
	Msg string
	Err error
}

func (e *CallError) Error() string { return e.Msg }
func (e *CallError) Unwrap() error { return e.Err }
