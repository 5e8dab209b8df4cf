// Command teleclaude is the TeleClaude daemon and the admin's tool.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/daemon"
	"github.com/instruktai/teleclaude/internal/sessionhost"
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
	root.AddCommand(serveCmd(), versionCmd(), configCmd(), doctorCmd(), setupDBCmd(), migrateCmd(), sessionExecCmd(), sessionHostCmd())
	return root
}

func serveCmd() *cobra.Command {
	configErrorExit := cli.ExitUsage
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon in the foreground",
		Long: `Run the daemon in the foreground.

A configuration error ends it with exit status 2, or the one that
--config-error-exit names: a supervisor that restarts every failed start
(launchd's KeepAlive restarts any non-zero exit) is given one it leaves alone,
since a broken config does not mend itself by waiting.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := daemon.Run(context.Background())
			var ce *daemon.ConfigError
			if errors.As(err, &ce) {
				fmt.Fprintf(os.Stderr, "teleclaude: %v\nteleclaude: not starting until the configuration is fixed\n", err)
				os.Exit(configErrorExit)
			}
			if errors.Is(err, store.ErrLocked) {
				return fmt.Errorf("%w\nonly one daemon may use a database; stop the other one first", err)
			}
			return err
		},
	}
	cmd.Flags().IntVar(&configErrorExit, "config-error-exit", cli.ExitUsage, "exit status for a configuration error")
	return cmd
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
// owner: it takes the session's spec from the owner's host, then becomes
// the agent. Not for people; hidden from help.
func sessionExecCmd() *cobra.Command {
	var hostSock, session string
	cmd := &cobra.Command{
		Use:    "session-exec --host SOCK --session ID",
		Short:  "Start a session's program (run inside tmux by the session host)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := sessionhost.Exec(hostSock, session)
			// Only a failure returns. It shows in the pane and so in the
			// transcript; 127 is the shell's "could not run the command".
			fmt.Fprintf(os.Stderr, "teleclaude: cannot start the session's program: %v\n", err)
			os.Exit(127)
			return nil
		},
	}
	cmd.Flags().StringVar(&hostSock, "host", "", "the session host's socket")
	cmd.Flags().StringVar(&session, "session", "", "the session")
	return cmd
}

// sessionHostCmd is a user's session host: it runs as that user (started
// by teleclaude-sessions@<uid>.service, or by the daemon), keeps their tmux
// server and answers the daemon. Not for people; hidden from help.
func sessionHostCmd() *cobra.Command {
	var o sessionhost.HostOptions
	cmd := &cobra.Command{
		Use:    "session-host --dir RUN_DIR/users/UID",
		Short:  "Run a user's session host (started by the daemon or systemd)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := exec.LookPath(o.Tmux)
			if err != nil {
				return fmt.Errorf("session host: tmux is not installed: %w", err)
			}
			if o.Tmux, err = filepath.Abs(bin); err != nil {
				return err
			}
			if o.Self, err = os.Executable(); err != nil {
				return err
			}
			// The setting is the host's, not the sessions' environment.
			os.Unsetenv("TELECLAUDE_TMUX")
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return sessionhost.RunHost(ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "", "the user's directory under the daemon's run directory (required)")
	// Under systemd the unit gives no arguments: the daemon's sessions.tmux
	// comes through the unit's EnvironmentFile (sessionhost.UnitEnvFile).
	tmuxDefault := "tmux"
	if t := os.Getenv("TELECLAUDE_TMUX"); t != "" {
		tmuxDefault = t
	}
	cmd.Flags().StringVar(&o.Tmux, "tmux", tmuxDefault, "the tmux program (default: $TELECLAUDE_TMUX, else tmux in PATH)")
	cmd.MarkFlagRequired("dir")
	return cmd
}
