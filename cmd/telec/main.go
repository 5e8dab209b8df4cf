// Command telec is what every user of a TeleClaude machine runs: it talks to
// the daemon over its Unix socket as the user who runs it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/ansi"
	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/client"
	"github.com/instruktai/teleclaude/internal/prefs"
	"github.com/instruktai/teleclaude/internal/version"
	"github.com/spf13/cobra"
)

type app struct {
	socket string
	json   bool
	out    io.Writer
	prefs  prefs.Preferences // sent with every request
}

func main() {
	cli.Run(newRoot(os.Stdout))
}

func newRoot(out io.Writer) *cobra.Command {
	// Everything telec prints came from the daemon, or from whatever
	// answered on its socket: escape sequences and bidirectional overrides
	// are shown, never obeyed (errors go the same way in cli.Run).
	sw := ansi.NewSafeWriter(out)
	cobra.OnFinalize(func() { sw.Flush() })
	a := &app{out: sw}
	root := &cobra.Command{
		Use:   "telec",
		Short: "Use TeleClaude sessions on this machine",
		Long: `telec talks to the TeleClaude daemon on this machine as you: the daemon
learns who you are from the operating system, not from anything telec says.

Exit codes: 0 success, 1 the operation failed or was refused, 2 bad usage or
config, 3 the daemon could not be reached.`,
		Version: version.String(),
	}
	root.PersistentFlags().StringVar(&a.socket, "socket", os.Getenv("TELECLAUDE_SOCKET"), "daemon socket (default: TELECLAUDE_SOCKET, else the mode's default)")
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print one JSON document on stdout")
	root.PersistentPreRunE = a.loadPreferences
	root.AddCommand(a.whoamiCmd(), a.statusCmd(), a.sessionsCmd(), a.auditCmd(), a.docsCmd(), a.versionCmd())
	manSections(root)
	return root
}

// fetch is call for the commands that print a list: with --json the
// daemon's answer goes out as it came (indented); otherwise it is decoded
// into out for the human form, and fetch reports true.
func (a *app) fetch(path string, out any) (human bool, err error) {
	if a.json {
		var raw json.RawMessage
		if err := a.call(http.MethodGet, path, nil, &raw); err != nil {
			return false, err
		}
		return false, cli.PrintRawJSON(a.out, raw)
	}
	return true, a.call(http.MethodGet, path, nil, out)
}

// call sends one request to the daemon, with the command's whole budget.
func (a *app) call(method, path string, body, out any) error {
	_, err := a.callHeader(method, path, body, out)
	return err
}

// callHeader is call that also returns the answer's headers.
func (a *app) callHeader(method, path string, body, out any) (http.Header, error) {
	t, err := cli.ResolveTarget(a.socket)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), client.DefaultTimeout)
	defer cancel()
	c := t.Client()
	c.Header.Set(prefs.Header, a.prefs.Encode())
	if method != http.MethodGet {
		// A start, a send or an end may take the daemon a while (it
		// waits for the user's session host); first see that it answers.
		if err := c.Patient(ctx); err != nil {
			return nil, err
		}
	}
	return c.DoHeader(ctx, method, path, body, out)
}

// loadPreferences reads the user's preferences before any command runs: a
// problem in them stops telec (exit 2), output_format: json stands for
// --json unless the flag is given, and call sends them with every request.
func (a *app) loadPreferences(cmd *cobra.Command, _ []string) error {
	p, err := cli.Preferences()
	if err != nil {
		return err
	}
	a.prefs = p
	if p.OutputFormat == "json" && !cmd.Flags().Changed("json") {
		// Through the flag, so that an error is a JSON document too.
		if f := cmd.Flags().Lookup("json"); f != nil {
			f.Value.Set("true")
		}
		a.json = true
	}
	return nil
}

func (a *app) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the daemon thinks you are, and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var w apitype.Whoami
			if err := a.call(http.MethodGet, "/v1/whoami", nil, &w); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, w)
			}
			person := "(no person: public)"
			if w.Person != nil {
				person = *w.Person
			}
			fmt.Fprintf(a.out, "user:   %s (uid %d)\nperson: %s\nrole:   %s\nwhy:    %s\n", w.OSUsername, w.UID, person, w.Role, w.Reason)
			return nil
		},
	}
}

// versionCmd is telec's own version; `telec status` tells the daemon's.
func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print telec's version (telec status shows the daemon's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.json {
				return cli.PrintJSON(a.out, map[string]string{"version": version.String()})
			}
			_, err := fmt.Fprintln(a.out, version.String())
			return err
		},
	}
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's version, mode and database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s apitype.Status
			if err := a.call(http.MethodGet, "/v1/status", nil, &s); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, s)
			}
			fmt.Fprintf(a.out, "TeleClaude %s on %s (%s mode)\nsocket:   %s\ndatabase: %s (schema v%d)\nup since: %s (pid %d)\n",
				s.Version, s.Computer, s.Mode, s.Socket, s.Database.Engine, s.Database.SchemaVersion, s.StartedAt.Local().Format(time.RFC1123), s.PID)
			fmt.Fprintf(a.out, "projects: %s\nagents:   %s\n", listOr(s.Projects, "(none configured)"), agentList(s))
			if s.Sessions.Available {
				fmt.Fprintf(a.out, "sessions: run as their owners (%s)\n", s.Sessions.Host)
			} else {
				fmt.Fprintf(a.out, "sessions: unavailable: %s\n", s.Sessions.Problem)
			}
			return nil
		},
	}
}

func listOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, ", ")
}

func agentList(s apitype.Status) string {
	names := make([]string, len(s.Agents))
	for i, a := range s.Agents {
		names[i] = a
		if a == s.DefaultAgent {
			names[i] += " (default)"
		}
	}
	return listOr(names, "(none configured)")
}
