package sessionhost

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"

	"github.com/instruktai/teleclaude/internal/tmux"
)

// The daemon and a user's host speak one JSON request and one JSON answer
// per connection on the host's socket. The host runs as the user and the
// daemon as the service user; each checks the other's uid with the
// kernel's peer credentials, and neither ever acts on the other's files
// on the other's say-so beyond what the operation means.

// Operations.
const (
	OpPing  = "ping"  // daemon: is the host up?
	OpStart = "start" // daemon: start a session
	OpPanes = "panes" // daemon: the sessions' panes
	OpPaste = "paste" // daemon: type into a session
	OpKill  = "kill"  // daemon: end a session
	OpSpec  = "spec"  // the session's launcher (the owner): what to run
	// OpStarted is the launcher's report, as the owner, once it is in the
	// project directory with its program found (Problem empty), or why it
	// could not be: a start is acknowledged only after it.
	OpStarted = "started"
)

// Request is one request to a host.
type Request struct {
	Op      string `json:"op"`
	Session string `json:"session,omitempty"`
	// start: what to run, where, with which environment (API keys
	// included: they go to the launcher over this socket, never on a
	// command line or into a file).
	Dir  string            `json:"dir,omitempty"`
	Argv []string          `json:"argv,omitempty"`
	Env  map[string]string `json:"env,omitempty"`
	// started: why the program could not start ("" when it runs)
	Problem string `json:"problem,omitempty"`
	// paste
	Text  string `json:"text,omitempty"`
	Enter bool   `json:"enter,omitempty"`
}

// Response is a host's answer.
type Response struct {
	Error string `json:"error,omitempty"`
	// NoSession: the session (or the tmux server) is not there.
	NoSession bool `json:"no_session,omitempty"`
	// ping
	PID int `json:"pid,omitempty"`
	// start: the files the session writes, in the host's directory: its
	// output log and its exit status.
	Log  string `json:"log,omitempty"`
	Exit string `json:"exit,omitempty"`
	// panes
	Panes []tmux.Pane `json:"panes,omitempty"`
	// spec
	Spec *Spec `json:"spec,omitempty"`
}

// Spec is what a session's launcher runs.
type Spec struct {
	Argv []string          `json:"argv"`
	Env  map[string]string `json:"env"`
	Dir  string            `json:"dir"`
	Exit string            `json:"exit"` // where the exit status goes
}

// ErrNoSession: the host has no such session, or no tmux server.
var ErrNoSession = errors.New("no such session")

// Bounds on what each side reads from the other: a request carries at
// most 64 KiB of input and an environment; an answer a pane list (a user
// may make tmux sessions of their own, but not thousands of them).
const (
	maxRequest  = 4 << 20
	maxResponse = 256 << 10
	maxPanes    = 1024
	maxErrorLen = 512
)

var sessionID = regexp.MustCompile(`^[0-9a-z]{1,64}$`)

func readMessage(c net.Conn, v any, limit int64) error {
	r := bufio.NewReader(io.LimitReader(c, limit))
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	return nil
}

func writeMessage(c net.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = c.Write(append(b, '\n'))
	return err
}
