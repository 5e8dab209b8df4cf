// Package cli holds what both command-line programs share: the exit-code
// contract, JSON output, and socket selection.
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/instruktai/teleclaude/internal/client"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/prefs"
	"github.com/instruktai/teleclaude/internal/strictyaml"
	"github.com/spf13/cobra"
)

// Exit codes, part of the contract scripts rely on.
const (
	ExitOK          = 0
	ExitFailed      = 1 // the operation failed or was refused
	ExitUsage       = 2 // bad usage or config
	ExitUnreachable = 3 // the daemon could not be reached
)

// UsageError marks an error as the caller's mistake in invoking us.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// Code maps an error to the contract's exit code.
func Code(err error) int {
	var ue *UsageError
	var ur *client.UnreachableError
	var probs strictyaml.Problems
	var ae *client.APIError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.As(err, &probs):
		return ExitUsage
	case errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusRequestEntityTooLarge):
		// The daemon found the request itself wrong: bad usage.
		return ExitUsage
	case errors.As(err, &ur):
		return ExitUnreachable
	default:
		return ExitFailed
	}
}

// Run executes root and exits the process with the contract's code, printing
// the error (if any) to stderr. It adds the hidden gen-man command that every
// program has for its packages.
func Run(root *cobra.Command) {
	root.AddCommand(manCommand(root))
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath())}
	})
	err := root.Execute()
	if err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) {
			fmt.Fprintf(os.Stderr, "%s: %s\n", root.Name(), ae.Msg)
		} else {
			fmt.Fprintf(os.Stderr, "%s: %v\n", root.Name(), err)
		}
		if isCobraUsage(err) {
			os.Exit(ExitUsage)
		}
	}
	os.Exit(Code(err))
}

// isCobraUsage recognises cobra's own argument errors (unknown command,
// wrong number of arguments), which it returns as plain errors.
func isCobraUsage(err error) bool {
	var ue *UsageError
	if errors.As(err, &ue) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand flag", "invalid argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// PrintRawJSON writes a JSON document received from the daemon, indented,
// without decoding it: large lists pass straight through.
func PrintRawJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	buf.Grow(len(raw) + len(raw)/2)
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return fmt.Errorf("the daemon's answer is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

// PrintJSON writes v as one indented JSON document.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Target says which daemon to talk to and in which mode we believe it runs.
type Target struct {
	Socket     string
	SystemMode bool
}

// ResolveTarget picks the socket: --socket, then TELECLAUDE_SOCKET, then the
// default of the detected mode.
func ResolveTarget(flagSocket string) (Target, error) {
	p, d, err := layout.Detect()
	if err != nil {
		return Target{}, &UsageError{err}
	}
	t := Target{Socket: p.Socket, SystemMode: d.Mode == layout.System}
	if flagSocket != "" {
		t.Socket = flagSocket
	}
	return t, nil
}

// Preferences reads the calling user's preferences (package prefs): the
// preferences: section of ~/.teleclaude/config.yml, or in single-user mode
// of the daemon's config file, with the TELECLAUDE_* variables over it.
// Problems in the file are the caller's to fix: exit code 2.
func Preferences() (prefs.Preferences, error) {
	p, _, err := layout.Detect()
	if err != nil {
		return prefs.Preferences{}, &UsageError{err}
	}
	path, whole := prefs.File(p, layout.Current().Home)
	return prefs.Load(path, whole, os.Getenv)
}
