package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/doctor"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/runas"
	"github.com/spf13/cobra"
)

func doctorCmd() *cobra.Command {
	var asJSON bool
	var svc, sock, step string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check this installation; each check PASS, WARN or FAIL with the fix",
		Long: `doctor checks the mode, the service user and the socket's group, the
directories and files with their owners and modes, the secrets' permissions,
the config, the socket, the database (reachable and migrated), and whether
you are in the socket's group in this login session. Every WARN and FAIL
comes with the command that fixes it.

Run it as root to see everything (the secrets, and the database as the
service user); as a user, it checks what concerns you.

Exit code 0 when nothing failed (warnings allowed), 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p, d, err := layout.Detect()
			if err != nil {
				return &cli.UsageError{Err: err}
			}
			out := cmd.OutOrStdout()
			if step == "database" {
				return cli.PrintJSON(out, doctor.DatabaseCheck(ctx, p, os.Getenv))
			}
			s := doctor.Setup{Paths: p, Decision: d, ServiceUser: svc, Socket: sock, Getenv: os.Getenv, Caller: doctor.CurrentCaller()}
			daemonUser := s.Caller.Name
			if p.Mode == layout.System {
				daemonUser = svc
			}
			s.Database = func(ctx context.Context) doctor.Check { return databaseAs(ctx, daemonUser, s) }
			r := doctor.Run(ctx, s)
			if asJSON {
				if err := cli.PrintJSON(out, r); err != nil {
					return err
				}
			} else {
				printReport(out, r)
			}
			if !r.OK {
				err := errors.New("some checks failed; each names its fix")
				if asJSON {
					return &cli.ReportedError{Err: err}
				}
				return err
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as one JSON document")
	cmd.Flags().StringVar(&svc, "service-user", layout.ServiceUser(runtime.GOOS), "the daemon's OS user in system mode")
	cmd.Flags().StringVar(&sock, "socket", "", "the daemon's socket (default: TELECLAUDE_SOCKET, else the config's)")
	cmd.Flags().StringVar(&step, "step", "", "internal: run one check (database) as the current user")
	cmd.Flags().MarkHidden("step")
	return cmd
}

// databaseAs runs the database check as the daemon's user: in this process
// when we are that user, in a child process when we are root (so that
// nothing the check touches ends up root's), and not at all otherwise.
func databaseAs(ctx context.Context, daemonUser string, s doctor.Setup) doctor.Check {
	c, err := runas.JSON(ctx, daemonUser, func() doctor.Check { return doctor.DatabaseCheck(ctx, s.Paths, s.Getenv) }, "doctor", "--step", "database")
	switch {
	case errors.Is(err, runas.ErrNotRoot):
		return doctor.Check{Name: "database", Status: doctor.Warn,
			Detail: fmt.Sprintf("the daemon does not answer, and only root or %s can check its database", daemonUser), Fix: "sudo teleclaude doctor"}
	case err != nil:
		return doctor.Check{Name: "database", Status: doctor.Fail, Detail: fmt.Sprintf("could not check the database as %s: %v", daemonUser, err), Fix: "see the service user check"}
	}
	return c
}

func printReport(w io.Writer, r doctor.Report) {
	count := map[doctor.Status]int{}
	for _, c := range r.Checks {
		count[c.Status]++
		fmt.Fprintf(w, "%-4s  %-22s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" && c.Status != doctor.Pass {
			fmt.Fprintf(w, "      %-22s fix: %s\n", "", c.Fix)
		}
	}
	fmt.Fprintf(w, "%d PASS, %d WARN, %d FAIL\n", count[doctor.Pass], count[doctor.Warn], count[doctor.Fail])
}
