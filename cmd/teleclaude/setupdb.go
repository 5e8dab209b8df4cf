package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/runas"
	"github.com/instruktai/teleclaude/internal/setupdb"
	"github.com/spf13/cobra"
)

// setupDBReport is what setup-db prints with --json, and what its child
// processes (--step) tell it.
type setupDBReport struct {
	PostgreSQL string         `json:"postgresql,omitempty"` // present | absent
	Target     setupdb.Target `json:"target"`
	Steps      []setupdb.Step `json:"steps"`
	Error      string         `json:"error,omitempty"`
}

func setupDBCmd() *cobra.Command {
	t := setupdb.Target{}
	var osSuper, step string
	var ifAvailable, asJSON bool
	cmd := &cobra.Command{
		Use:   "setup-db",
		Short: "Create the PostgreSQL role and database for the service user (run as root; idempotent)",
		Long: `setup-db creates, on the local PostgreSQL server, a role named after the service
user (LOGIN, no password) and a database it owns, which only it may connect
to; then it connects as the service user to prove that peer authentication
over the socket lets it in. What exists already is left as it is, so running
it again is harmless. Each line of output is one step; --json prints them as
one document.

It runs as root: it acts as --os-user (the PostgreSQL superuser's OS
account, default postgres) to create, and as the service user to check.

Exit codes: 0 done (or, with --if-available, no local PostgreSQL: nothing
to do); 1 failed, or no local PostgreSQL without --if-available; 2 bad usage.
The flags' defaults are the config's PostgreSQL defaults; if
/etc/teleclaude/config.yml says otherwise, give the same values here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if step != "" {
				return cli.PrintJSON(os.Stdout, runSetupStep(ctx, step, t))
			}
			r := setupDBReport{Target: t, Steps: []setupdb.Step{}}
			err := runSetupDB(ctx, &r, osSuper)
			if errors.Is(err, setupdb.ErrNoServer) && ifAvailable {
				err = nil
				r.Steps = append(r.Steps, setupdb.Step{Action: "no local PostgreSQL at " + t.Socket() + "; nothing to do (run `teleclaude setup-db` once it is installed)"})
			}
			if err != nil {
				r.Error = err.Error()
			}
			if asJSON {
				if perr := cli.PrintJSON(os.Stdout, r); perr != nil {
					return perr
				}
				return err
			}
			for _, s := range r.Steps {
				fmt.Println(s.Action)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&t.SocketDir, "socket-dir", "/var/run/postgresql", "directory of the PostgreSQL server's socket")
	f.IntVar(&t.Port, "port", 5432, "the server's port (it names the socket file)")
	f.StringVar(&t.Superuser, "superuser", "postgres", "PostgreSQL role to create with")
	f.StringVar(&osSuper, "os-user", "", "OS account whose peer authentication maps to --superuser (default: the same name)")
	f.StringVar(&t.Role, "service-user", layout.ServiceUser(runtime.GOOS), "the daemon's OS user; the role gets its name")
	f.StringVar(&t.DBName, "dbname", "teleclaude", "database to create")
	f.BoolVar(&ifAvailable, "if-available", false, "with no local PostgreSQL, say so and exit 0 (for package scripts)")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	f.StringVar(&step, "step", "", "internal: run one step (create|verify) as the current user")
	f.MarkHidden("step")
	return cmd
}

// runSetupDB checks for a server and the service user, then creates as the
// superuser's account and verifies as the service user, adding each step to
// r.
func runSetupDB(ctx context.Context, r *setupDBReport, osSuper string) error {
	t := r.Target
	if t.Port <= 0 || t.Port > 65535 || t.SocketDir == "" || t.Role == "" || t.DBName == "" || t.Superuser == "" {
		return cli.Usagef("--socket-dir, --port, --superuser, --service-user and --dbname must all be set (port 1-65535)")
	}
	if osSuper == "" {
		osSuper = t.Superuser
	}
	if err := setupdb.Probe(t); err != nil {
		if errors.Is(err, setupdb.ErrNoServer) {
			r.PostgreSQL = "absent"
			return fmt.Errorf("%w: install PostgreSQL (apt install postgresql), or point --socket-dir and --port at it", err)
		}
		return err
	}
	r.PostgreSQL = "present"
	if _, err := osuser.Lookup(t.Role); err != nil {
		return fmt.Errorf("the service user %s does not exist (the package creates it; or pass --service-user): %w", t.Role, err)
	}
	for _, s := range []struct{ name, as string }{{"create", osSuper}, {"verify", t.Role}} {
		res, err := setupStepAs(ctx, s.as, s.name, t)
		if err != nil {
			return err
		}
		r.Steps = append(r.Steps, res.Steps...)
		if res.Error != "" {
			return errors.New(res.Error)
		}
	}
	return nil
}

// setupStepAs runs one step as the OS user who must take it: in this
// process when that is who we are, else (as root) in a child process
// running as them.
func setupStepAs(ctx context.Context, as, step string, t setupdb.Target) (setupDBReport, error) {
	res, err := runas.JSON(ctx, as, func() setupDBReport { return runSetupStep(ctx, step, t) },
		"setup-db", "--step", step, "--socket-dir", t.SocketDir, "--port", strconv.Itoa(t.Port),
		"--superuser", t.Superuser, "--service-user", t.Role, "--dbname", t.DBName)
	switch {
	case errors.Is(err, runas.ErrNotRoot):
		return res, fmt.Errorf("setup-db must run as root (it acts as %s and as %s): sudo teleclaude setup-db", t.Superuser, t.Role)
	case err != nil:
		return res, fmt.Errorf("%s the database as %s: %w (pass --os-user if the PostgreSQL superuser's account has another name)", step, as, err)
	}
	return res, nil
}

// runSetupStep is one step in this process; its failure is part of the
// report, for the parent to show.
func runSetupStep(ctx context.Context, step string, t setupdb.Target) setupDBReport {
	r := setupDBReport{Target: t}
	var err error
	switch step {
	case "create":
		r.Steps, err = setupdb.Create(ctx, t)
	case "verify":
		var s setupdb.Step
		if s, err = setupdb.Verify(ctx, t); err == nil {
			r.Steps = []setupdb.Step{s}
		}
	default:
		err = fmt.Errorf("unknown step %q", step)
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}
