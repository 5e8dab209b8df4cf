// Package client talks to the daemon's API over its Unix socket and turns
// every way that can fail into an error that says what to do.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
)

// Client is an API client bound to one socket.
type Client struct {
	Socket string
	// SystemMode tailors the advice in errors (group membership, the service
	// manager's start command).
	SystemMode bool
	// Header is sent with every request (telec sends the user's
	// preferences in it).
	Header http.Header
	goos   string // whose commands the advice names
	hc     *http.Client
}

// New returns a client for the daemon at socket.
func New(socket string, systemMode bool) *Client {
	c := &Client{Socket: socket, SystemMode: systemMode, Header: http.Header{}, goos: runtime.GOOS}
	c.hc = &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			DisableCompression: true,
			MaxIdleConns:       1,
		},
	}
	return c
}

// APIError is an error response from the daemon.
type APIError struct {
	Status int
	Code   string
	Msg    string
}

func (e *APIError) Error() string { return e.Msg }

// UnreachableError means no conversation with the daemon took place.
type UnreachableError struct {
	Socket string
	Cause  string
	Fix    string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the TeleClaude daemon at %s: %s\n  fix: %s", e.Socket, e.Cause, e.Fix)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Do sends a request and decodes a successful JSON answer into out (if not
// nil). body, if not nil, is sent as JSON.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.DoHeader(ctx, method, path, body, out)
	return err
}

// DoHeader is Do that also returns the answer's headers.
func (c *Client) DoHeader(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://teleclaude"+path, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer resp.Body.Close()
	// The daemon says how long its answer is: read it into one buffer of
	// that size rather than one that doubles its way there (a list of
	// a thousand sessions is 300 KB, and a short-lived process pays for
	// every page it touches).
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= 64<<20 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(resp.Body)
	data := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("read answer from the daemon: %w", err)
	}
	if resp.StatusCode >= 300 {
		var eb apitype.Error
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("daemon answered %s", resp.Status)
		}
		return resp.Header, &APIError{Status: resp.StatusCode, Code: eb.Code, Msg: eb.Error}
	}
	if out == nil {
		return resp.Header, nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return resp.Header, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.Header, fmt.Errorf("decode answer from the daemon: %w", err)
	}
	return resp.Header, nil
}

// Get is Do with GET and no body.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.Do(ctx, http.MethodGet, path, nil, out)
}

// advice holds the commands that error messages name, which differ between
// Linux (systemd, shadow-utils) and macOS (launchd, directory services).
type advice struct {
	start string // how an admin starts the system daemon
	join  string // how an admin adds user %[2]s to group %[1]s
	logs  string // where the system daemon logs
}

func adviceFor(goos string) advice {
	if goos == "darwin" {
		return advice{
			start: "sudo launchctl kickstart system/ai.instrukt.teleclaude",
			join:  "`sudo dseditgroup -o edit -a %[2]s -t user %[1]s`, then log out and in again",
			logs:  "/Library/Logs/TeleClaude",
		}
	}
	return advice{
		start: "sudo systemctl start teleclaude",
		join:  "`sudo usermod -aG %[1]s %[2]s`, then log in again (or run `newgrp %[1]s`)",
		logs:  "journalctl -u teleclaude",
	}
}

// directoryJoin replaces advice.join on Linux for an account from a
// directory service: usermod refuses accounts that are not in /etc/passwd,
// while gpasswd edits only /etc/group.
const directoryJoin = "`sudo gpasswd -a %[2]s %[1]s`, then log in again (or run `newgrp %[1]s`)"

// unreachable explains a failed dial: which of the three usual causes it is,
// and the command that fixes it.
func (c *Client) unreachable(err error) error {
	e := &UnreachableError{Socket: c.Socket, Err: err}
	a := adviceFor(c.goos)
	start := "start it with `teleclaude serve` (or set TELECLAUDE_SOCKET / --socket if it listens elsewhere)"
	if c.SystemMode {
		start = "ask an admin to start it: " + a.start + " (or set TELECLAUDE_SOCKET / --socket)"
	}
	switch {
	case errors.Is(err, syscall.ENOENT):
		e.Cause = "no socket there: the daemon is not running"
		e.Fix = start
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		e.Cause = "permission denied"
		// The socket's own mode says which fix applies: a group-accessible
		// socket is joined through its group; a private one is someone
		// else's single-user daemon.
		if g, ok := socketGroup(c.Socket, c.goos); ok {
			name, join := "$USER", a.join
			if u, err := osuser.LookupID(os.Getuid()); err == nil {
				name = u.Name
				if u.Directory && c.goos == "linux" {
					join = directoryJoin
				}
			}
			e.Fix = fmt.Sprintf("you need to be in the %s group: ask an admin to run "+join, g, name)
		} else {
			e.Fix = fmt.Sprintf("the socket belongs to another user; run telec as the user who started the daemon (you are uid %d)", os.Getuid())
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Cause = "connection refused: the socket is left over from a daemon that is no longer running"
		e.Fix = start
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.EINVAL):
		e.Cause = err.Error()
		e.Fix = "check the socket path (--socket or TELECLAUDE_SOCKET)"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		e.Cause = "the daemon did not answer in time"
		e.Fix = "check its log: " + a.logs + " (system) or the terminal running `teleclaude serve`"
	default:
		e.Cause = err.Error()
		e.Fix = start
	}
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// DefaultTimeout bounds a whole command's conversation with the daemon.
const DefaultTimeout = 30 * time.Second

// socketGroup names the group that a user must join to reach the socket,
// and reports false when the socket grants nothing to its group (or cannot be
// examined at all; a directory on the way may be closed to us).
func socketGroup(path, goos string) (string, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return layout.ServiceUser(goos), os.IsPermission(err)
	}
	own, ok := fileown.Of(st)
	if !ok || st.Mode().Perm()&0o060 == 0 {
		return "", false
	}
	return osuser.GroupName(own.GID), true
}
