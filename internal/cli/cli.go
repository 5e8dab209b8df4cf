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

	"github.com/instruktai/teleclaude/internal/ansi"
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

// UsageError marks an error as the caller's mistake in invoking us. Hint,
// if any, says how to invoke us right (lines for a person).
type UsageError struct {
	Err  error
	Hint string
}

func (e *UsageError) Error() string {
	if e.Hint == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + "\n" + e.Hint
}
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
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
	os.Exit(Execute(root, os.Args[1:], os.Stdout, os.Stderr))
}

// Execute runs root with args and returns the contract's exit code; stdout
// and stderr are where cobra's own output (help, completions) and errors go.
func Execute(root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	Prepare(root)
	root.SetArgs(args)
	// Only when they are not the process's own: cobra's notices (a
	// deprecated flag) go to its "out" when one is set, stderr otherwise.
	if stdout != io.Writer(os.Stdout) {
		root.SetOut(stdout)
	}
	if stderr != io.Writer(os.Stderr) {
		root.SetErr(stderr)
	}
	cmd, err := root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	code := Code(err)
	if isCobraUsage(err) {
		code = ExitUsage
	}
	var rep *ReportedError
	if errors.As(err, &rep) {
		// The command's own JSON document already says what went wrong.
		return code
	}
	if wantsJSON(cmd) {
		PrintJSON(stdout, errorDoc(err, code))
	}
	// The daemon's words, or whatever answered on its socket, are shown,
	// never obeyed by the terminal.
	fmt.Fprintf(stderr, "%s: %s\n", root.Name(), ansi.Sanitize(message(err)))
	return code
}

// Prepare gives root what every program has: the hidden gen-man command,
// the completion command without PowerShell (the packages ship bash, zsh
// and fish), usage errors with a hint, and unknown subcommands refused at
// every depth.
func Prepare(root *cobra.Command) {
	if c, _, err := root.Find([]string{"gen-man"}); err != nil || c == root {
		root.AddCommand(manCommand(root))
	}
	initCompletion(root)
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: err, Hint: fmt.Sprintf("see '%s --help'", c.CommandPath())}
	})
	refuseUnknownSubcommands(root)
	hintUsage(root)
}

// hintUsage adds the command's usage line to its argument errors: `telec
// sessions send` alone should say what it wants, not only how many.
func hintUsage(c *cobra.Command) {
	for _, sub := range c.Commands() {
		hintUsage(sub)
	}
	check := c.Args
	if check == nil || !c.Runnable() {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{Err: err, Hint: fmt.Sprintf("usage: %s\nsee '%s --help'", cmd.UseLine(), cmd.CommandPath())}
		}
		return nil
	}
}

// initCompletion adds cobra's completion command without PowerShell: the
// programs run on Linux and macOS, and the packages ship bash, zsh and fish.
func initCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			for _, sub := range c.Commands() {
				if sub.Name() == "powershell" {
					c.RemoveCommand(sub)
				}
			}
		}
	}
}

// refuseUnknownSubcommands makes every command that only groups others
// (`telec sessions`, `teleclaude config`) refuse an argument that names no
// subcommand, as cobra does at the top level only: without this, `telec
// sessions lst` would print help and exit 0, and a script would carry on.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if c == c.Root() || !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	// `telec sessions strat --project x` is a misspelt command, not a
	// misplaced flag.
	c.FParseErrWhitelist.UnknownFlags = true
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's own default at the top
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		hint := fmt.Sprintf("see '%s --help'", cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			hint = "did you mean this?\n\t" + strings.Join(s, "\n\t") + "\n" + hint
		}
		return &UsageError{Err: fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()), Hint: hint}
	}
}

// ReportedError is a failure that the command has already described in
// the JSON document it printed (doctor's report, setup-db's steps): nothing
// more goes to stdout, which stays one document.
type ReportedError struct{ Err error }

func (e *ReportedError) Error() string { return e.Err.Error() }
func (e *ReportedError) Unwrap() error { return e.Err }

// ErrorDoc is what a failed command prints on stdout with --json.
type ErrorDoc struct {
	Error string `json:"error"`
	Fix   string `json:"fix"`
	Code  string `json:"code"`
}

// wantsJSON reports whether the command that ran was asked for JSON (its
// --json flag, which telec also sets from the output_format preference).
func wantsJSON(cmd *cobra.Command) bool {
	if cmd == nil {
		return false
	}
	f := cmd.Flags().Lookup("json")
	return f != nil && f.Value.String() == "true"
}

// errorDoc describes err for a script: the message, what to do about it,
// and a stable code (the daemon's for its refusals).
func errorDoc(err error, exit int) ErrorDoc {
	var ae *client.APIError
	var ur *client.UnreachableError
	var ue *UsageError
	d := ErrorDoc{Error: err.Error(), Code: "failed"}
	switch {
	case errors.As(err, &ae):
		d.Error, d.Fix, d.Code = ae.Msg, ae.Fix, ae.Code
	case errors.As(err, &ur):
		d.Error, d.Fix, d.Code = fmt.Sprintf("cannot reach the TeleClaude daemon at %s: %s", ur.Socket, ur.Cause), ur.Fix, "unreachable"
	case errors.As(err, &ue):
		d.Error, d.Fix, d.Code = ue.Err.Error(), oneLine(ue.Hint), "usage"
	case exit == ExitUsage:
		// cobra's own: the message, then its suggestions.
		msg, hint, _ := strings.Cut(strings.TrimSpace(d.Error), "\n")
		d.Error, d.Fix, d.Code = msg, oneLine(hint), "usage"
	}
	if d.Code == "" {
		d.Code = "failed"
	}
	// JSON escapes control characters but not bidi overrides: the same
	// sanitizer as the terminal's, so a script that prints a field shows it.
	d.Error, d.Fix, d.Code = ansi.Sanitize(d.Error), ansi.Sanitize(d.Fix), ansi.Sanitize(d.Code)
	return d
}

// oneLine joins a hint's lines for a JSON field.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ; ")), " ")
}

// message is the line (or lines) a person reads on stderr.
func message(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) {
		if ae.Fix != "" {
			return ae.Msg + "\n  fix: " + ae.Fix
		}
		return ae.Msg
	}
	return err.Error()
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
	// Expect is who may serve Socket: for the mode's own default path,
	// the caller (single-user) or the service user (system); for a path
	// the caller named, whoever owns its directory.
	Expect client.Expect
}

// Client returns a client for t.
func (t Target) Client() *client.Client {
	c := client.New(t.Socket, t.SystemMode)
	c.Expect = t.Expect
	return c
}

// ResolveTarget picks the socket: --socket, then TELECLAUDE_SOCKET, then the
// default of the detected mode.
func ResolveTarget(flagSocket string) (Target, error) {
	p, d, err := layout.Detect()
	if err != nil {
		return Target{}, &UsageError{Err: err}
	}
	t := Target{Socket: p.Socket, SystemMode: d.Mode == layout.System, Expect: client.ExpectSelf}
	if t.SystemMode {
		t.Expect = client.ExpectService
	}
	if os.Getenv(layout.EnvSocket) != "" || os.Getenv(layout.EnvRunDir) != "" {
		t.Expect = client.ExpectDirOwner
	}
	if flagSocket != "" {
		t.Socket, t.Expect = flagSocket, client.ExpectDirOwner
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
		return prefs.Preferences{}, &UsageError{Err: err}
	}
	path, whole := prefs.File(p, layout.Current().Home)
	return prefs.Load(path, whole, os.Getenv)
}
