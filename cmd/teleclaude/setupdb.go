package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/runas"
	"github.com/instruktai/teleclaude/internal/setupdb"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
	var ifAvailable, ifConfigured, asJSON bool
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

When /etc/teleclaude/config.yml says engine: postgresql with a socket
directory as host, its host, port, dbname and user are what setup-db
prepares (flags given override them). Otherwise it looks for the local
server on any port (pg_lsclusters, and the socket files in --socket-dir),
and its last line is the database: setting to put in config.yml, port: and
all.

Exit codes: 0 done (or, with --if-available, no local PostgreSQL; with
--if-configured, a config that does not use one: nothing to do); 1 failed,
or no local PostgreSQL without --if-available; 2 bad usage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out := cmd.OutOrStdout()
			if step != "" {
				return cli.PrintJSON(out, runSetupStep(ctx, step, t))
			}
			r := setupDBReport{Target: t, Steps: []setupdb.Step{}}
			fromConfig, skip := configTarget(&r.Target, cmd.Flags())
			var err error
			switch {
			case skip != "" && ifConfigured:
				r.Steps = append(r.Steps, setupdb.Step{Action: skip})
			case !fromConfig && !cmd.Flags().Changed("port"):
				r.Steps = append(r.Steps, choosePort(&r.Target)...)
				fallthrough
			default:
				err = runSetupDB(ctx, &r, osSuper)
				if err == nil {
					r.Steps = append(r.Steps, advice(r.Target, fromConfig))
				}
			}
			if errors.Is(err, setupdb.ErrNoServer) && ifAvailable {
				err = nil
				r.Steps = append(r.Steps, setupdb.Step{Action: "no local PostgreSQL at " + r.Target.Socket() + "; nothing to do (run `teleclaude setup-db` once it is installed)"})
			}
			if err != nil {
				r.Error = err.Error()
			}
			if asJSON {
				if perr := cli.PrintJSON(out, r); perr != nil {
					return perr
				}
				if err != nil {
					// The report's error field says it; stdout stays one document.
					return &cli.ReportedError{Err: err}
				}
				return nil
			}
			for _, s := range r.Steps {
				fmt.Fprintln(out, s.Action)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&t.SocketDir, "socket-dir", "/var/run/postgresql", "directory of the PostgreSQL server's socket")
	f.IntVar(&t.Port, "port", 5432, "the server's port (it names the socket file; default: the config's, else the port a local server answers on)")
	f.StringVar(&t.Superuser, "superuser", "postgres", "PostgreSQL role to create with")
	f.StringVar(&osSuper, "os-user", "", "OS account whose peer authentication maps to --superuser (default: the same name)")
	f.StringVar(&t.Role, "service-user", layout.ServiceUser(runtime.GOOS), "the daemon's OS user; the role gets its name")
	f.StringVar(&t.DBName, "dbname", "teleclaude", "database to create")
	f.BoolVar(&ifAvailable, "if-available", false, "with no local PostgreSQL, say so and exit 0 (for package scripts)")
	f.BoolVar(&ifConfigured, "if-configured", false, "do nothing (exit 0) unless config.yml says engine: postgresql on this machine's socket (for package scripts)")
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
			if ports := setupdb.Discover(t.SocketDir); len(ports) > 0 {
				return fmt.Errorf("%w; PostgreSQL answers in %s on port %s: set port: in the database: line of /etc/teleclaude/config.yml, or pass --port", err, t.SocketDir, joinPorts(ports))
			}
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

// configTarget applies the system config's database to t when it is a
// PostgreSQL on this machine's socket, except where a flag was given, and
// says so (fromConfig). Otherwise skip says why there is nothing to set up
// for the config, for --if-configured.
func configTarget(t *setupdb.Target, flags *pflag.FlagSet) (fromConfig bool, skip string) {
	p, err := layout.Resolve(layout.Current(), layout.System)
	if err != nil {
		return false, "no system configuration (" + err.Error() + "); nothing to do"
	}
	c, err := config.Load(p, os.Getenv)
	if err != nil {
		return false, p.ConfigFile + " has problems (teleclaude config check lists them); nothing done"
	}
	db := c.Database
	if db.Engine != "postgresql" {
		return false, fmt.Sprintf("%s uses the %s database; nothing to do (setup-db is for PostgreSQL)", p.ConfigFile, db.Engine)
	}
	if !strings.HasPrefix(db.Host, "/") {
		return false, fmt.Sprintf("%s uses PostgreSQL on %s, not this machine's socket; nothing to do (setup-db prepares a local server)", p.ConfigFile, db.Host)
	}
	set := func(name string, apply func()) {
		if !flags.Changed(name) {
			apply()
		}
	}
	set("socket-dir", func() { t.SocketDir = db.Host })
	set("port", func() { t.Port = db.Port })
	set("dbname", func() { t.DBName = db.DBName })
	set("service-user", func() { t.Role = db.User })
	return true, ""
}

// choosePort points t at the local server when none was named: the one
// that answers, or of several, 5432 if it is among them, else the lowest.
// With none, t stays on the default and the probe says so.
func choosePort(t *setupdb.Target) []setupdb.Step {
	ports := setupdb.Discover(t.SocketDir)
	switch {
	case len(ports) == 0:
		return nil
	case len(ports) == 1:
		t.Port = ports[0]
		return []setupdb.Step{{Action: fmt.Sprintf("found PostgreSQL in %s on port %d", t.SocketDir, t.Port)}}
	}
	t.Port = ports[0]
	for _, p := range ports {
		if p == 5432 {
			t.Port = p
		}
	}
	return []setupdb.Step{{Action: fmt.Sprintf("found PostgreSQL in %s on ports %s; using %d (--port chooses another)", t.SocketDir, joinPorts(ports), t.Port)}}
}

// advice is setup-db's last line: what config.yml needs to use what was
// made, port included.
func advice(t setupdb.Target, fromConfig bool) setupdb.Step {
	if fromConfig {
		return setupdb.Step{Action: fmt.Sprintf("config.yml already points the daemon here (%s); after a change to it: sudo systemctl restart teleclaude", t.ConfigLine())}
	}
	return setupdb.Step{Action: fmt.Sprintf("to use it, put this line in /etc/teleclaude/config.yml, then run sudo systemctl restart teleclaude:\n  %s", t.ConfigLine())}
}

func joinPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}
