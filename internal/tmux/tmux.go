// Package tmux drives one tmux server through its socket with the tmux
// program, the only interface tmux keeps stable.
//
// Arguments always go to tmux as separate argv entries, never as a command
// string, so nothing in them is re-parsed by tmux's command language; text
// and secrets go on stdin, never on a command line (which any local user
// can read in /proc).
package tmux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// Errors matched with errors.Is.
var (
	// ErrNoServer: nothing answers on the socket.
	ErrNoServer = errors.New("no tmux server on the socket")
	// ErrNoSession: the server has no such session.
	ErrNoSession = errors.New("no such tmux session")
)

// Server is a tmux server reached through its socket.
type Server struct {
	Bin    string   // the tmux program
	Socket string   // the server's socket (-S)
	Env    []string // environment of the tmux client processes
}

// Command returns the tmux command line for this server, ready to run; the
// caller may set credentials before starting it.
func (s *Server) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.Bin, append([]string{"-S", s.Socket}, args...)...)
	cmd.Env = s.Env
	cmd.Dir = "/"
	return cmd
}

// Run runs one tmux command line (commands may be separated by a lone ";"
// argument) with stdin, and returns its standard output.
func (s *Server) Run(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := s.Command(ctx, args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err == nil {
		return out.String(), nil
	}
	msg := strings.TrimSpace(errb.String())
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		// tmux itself did not run: missing program, context ended.
		return "", fmt.Errorf("run %s: %w", s.Bin, err)
	}
	switch {
	case strings.Contains(msg, "no server running"), strings.Contains(msg, "error connecting to"):
		return "", fmt.Errorf("tmux %s: %s: %w", args[0], msg, ErrNoServer)
	case strings.Contains(msg, "can't find session"), strings.Contains(msg, "can't find pane"),
		strings.Contains(msg, "can't find window"), strings.Contains(msg, "session not found"),
		// What tmux says to a target when the server has no sessions at all.
		strings.Contains(msg, "no current target"):
		return "", fmt.Errorf("tmux %s: %s: %w", args[0], msg, ErrNoSession)
	}
	if msg == "" {
		msg = err.Error()
	}
	return "", fmt.Errorf("tmux %s: %s", args[0], msg)
}

// PID returns the server's process id; it fails with ErrNoServer when no
// server answers.
func (s *Server) PID(ctx context.Context) (int, error) {
	out, err := s.Run(ctx, nil, "display-message", "-p", "#{pid}")
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return 0, fmt.Errorf("tmux server pid %q: %w", out, err)
	}
	return pid, nil
}

// Target names a session exactly (no prefix matching) for commands that
// take a session.
func Target(session string) string { return "=" + session }

// PaneTarget names the active pane of a session exactly.
func PaneTarget(session string) string { return "=" + session + ":" }

// NewSession starts a detached session running argv in dir, and pipes the
// pane's output to pipeCmd (a shell command run by the server) before the
// server reads any of it: both are one command list, which tmux runs to
// the end before it services the new pane.
func (s *Server) NewSession(ctx context.Context, name, dir string, argv []string, pipeCmd string) error {
	args := []string{"new-session", "-d", "-s", name, "-c", escapeFormat(dir), "--"}
	args = append(args, argv...)
	args = append(args, ";", "pipe-pane", "-O", "-t", PaneTarget(name), pipeCmd)
	_, err := s.Run(ctx, nil, args...)
	return err
}

// escapeFormat protects a value that tmux expands as a format (new-session's
// start directory is one): "#" introduces formats.
func escapeFormat(v string) string { return strings.ReplaceAll(v, "#", "##") }

// Pane is the state of one session's active pane.
type Pane struct {
	Session string
	PID     int
	// Dead: the pane's program has ended. tmux sees that (its terminal
	// closes) before it reaps the process and knows the status.
	Dead bool
	// Exit is the program's exit status once tmux knows it: its exit code,
	// or 128+n for death by signal n, as shells report it. tmux 3.3 often
	// never learns it (seen here for a third of the programs killed by a
	// signal), so this is a hint, not a record.
	Exit *int
}

// Panes lists the panes of every session on the server.
func (s *Server) Panes(ctx context.Context) ([]Pane, error) {
	out, err := s.Run(ctx, nil, "list-panes", "-a", "-F", "#{session_name}\t#{pane_pid}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_dead_signal}")
	if err != nil {
		if errors.Is(err, ErrNoSession) {
			return nil, nil // a server without sessions
		}
		return nil, err
	}
	return parsePanes(out)
}

// parsePanes reads list-panes lines of session, pid, dead, exit status and
// signal.
func parsePanes(out string) ([]Pane, error) {
	var panes []Pane
	// Not TrimSpace: a live pane's status fields are empty.
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("tmux list-panes: unexpected line %q", line)
		}
		p := Pane{Session: f[0], Dead: f[2] == "1"}
		p.PID, _ = strconv.Atoi(f[1])
		if code, err := strconv.Atoi(f[3]); err == nil && p.Dead {
			p.Exit = &code
		} else if sig, err := strconv.Atoi(f[4]); err == nil && p.Dead && sig > 0 {
			code := 128 + sig
			p.Exit = &code
		}
		panes = append(panes, p)
	}
	return panes, nil
}

// Paste types text into a session's pane as a paste (bracketed when the
// program asked for it), then Enter if enter is set. The text travels on
// stdin.
func (s *Server) Paste(ctx context.Context, session, text string, enter bool) error {
	buf := "teleclaude-" + session
	args := []string{"load-buffer", "-b", buf, "-", ";", "paste-buffer", "-d", "-p", "-b", buf, "-t", PaneTarget(session)}
	if text == "" {
		// An empty buffer cannot be loaded; only the key is sent.
		args = nil
	}
	if enter {
		if args != nil {
			args = append(args, ";")
		}
		args = append(args, "send-keys", "-t", PaneTarget(session), "Enter")
	}
	if args == nil {
		return nil
	}
	_, err := s.Run(ctx, strings.NewReader(text), args...)
	return err
}

// KillSession ends a session; its programs get SIGHUP.
func (s *Server) KillSession(ctx context.Context, name string) error {
	_, err := s.Run(ctx, nil, "kill-session", "-t", Target(name))
	return err
}

// KillServer ends the server and every session in it.
func (s *Server) KillServer(ctx context.Context) error {
	_, err := s.Run(ctx, nil, "kill-server")
	return err
}
