// Command teleclaude is the TeleClaude daemon and the admin's tool.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/daemon"
	"github.com/instruktai/teleclaude/internal/sessions"
	"github.com/instruktai/teleclaude/internal/store"
	"github.com/instruktai/teleclaude/internal/version"
	"github.com/spf13/cobra"
)

func main() {
	cli.Run(newRoot())
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "teleclaude",
		Short: "TeleClaude daemon: terminal and AI-agent sessions for everyone on this machine",
		Long: `teleclaude runs the TeleClaude daemon (serve) and the admin's tools.

The mode (system or single-user) is decided at start: TELECLAUDE_SYSTEM_MODE,
then whether we run as the service user, then whether the system config
exists. See the README for the directory layout of each mode.`,
		Version: version.String(),
	}
	root.AddCommand(serveCmd(), versionCmd(), configCmd(), doctorCmd(), setupDBCmd(), migrateCmd(), sessionExecCmd())
	return root
}

func serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon in the foreground",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := daemon.Run(context.Background())
			var ce *daemon.ConfigError
			if errors.As(err, &ce) {
				return &cli.UsageError{Err: err}
			}
			if errors.Is(err, store.ErrLocked) {
				return fmt.Errorf("%w\nonly one daemon may use a database; stop the other one first", err)
			}
			return err
		},
	}
}

func versionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return cli.PrintJSON(os.Stdout, map[string]string{"version": version.String()})
			}
			fmt.Println(version.String())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// sessionExecCmd is what a session's tmux pane runs, as the session's
// owner: it reads the launch spec the daemon wrote, then becomes the agent.
// Not for people; hidden from help.
func sessionExecCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "session-exec SPEC",
		Short:  "Start a session's program (run by the daemon inside tmux)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := sessions.Exec(args[0])
			// Only a failure returns. It shows in the pane and so in the
			// transcript; 127 is the shell's "could not run the command".
			fmt.Fprintf(os.Stderr, "teleclaude: cannot start the session's program: %v\n", err)
			os.Exit(127)
			return nil
		},
	}
}
