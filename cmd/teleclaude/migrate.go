package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/confimport"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/migrate"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func migrateCmd() *cobra.Command {
	var (
		o        migrate.Options
		owner    string
		copyDocs string
		split    confimport.SplitOptions
		asJSON   bool
		install  string
		home     string
		dryRun   bool
	)
	cmd := &cobra.Command{
		Use:   "migrate --from SQLITE_FILE --to POSTGRES_DSN",
		Short: "Move a SQLite database into an empty PostgreSQL database, verified",
		Long: `migrate copies a TeleClaude SQLite database (this program's schema at any
version, or the upstream Python TeleClaude's) into an empty PostgreSQL
database, in one transaction, and verifies row counts and a checksum per
table before committing. Any failure leaves the target without a row.

The source is only read, never written: it must not be in use (stop the
daemon first), an old schema is brought up to date on a private copy
(--work-dir), and its SHA-256 is compared before and after.

The target's schema is created or brought up to date first; it must have
no rows. Give the password in the DSN, in PGPASSWORD or in ~/.pgpass.

Sessions without an owner are given to --owner (default: the user running
migrate, or SUDO_USER under sudo); the owner's person name comes from the
system config when it maps that user.`,
		Example: `  teleclaude migrate --from /var/lib/teleclaude/teleclaude.db \
      --to 'host=/var/run/postgresql dbname=teleclaude user=teleclaude'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if install != "" {
				return runInstall(install, home, owner, split.OutDir, dryRun, asJSON, o)
			}
			if dryRun || home != "" {
				return cli.Usagef("--dry-run and --home go with --from-install")
			}
			var shared string
			if copyDocs != "" {
				if st, err := os.Stat(copyDocs); err != nil || !st.IsDir() {
					return cli.Usagef("--copy-docs %s: not a directory", copyDocs)
				}
				p, err := layout.Resolve(layout.Current(), layout.System)
				if err != nil {
					return &cli.UsageError{Err: err}
				}
				shared = p.SharedDir
			}
			if split.From != "" {
				// Checked now, run after the database: a mistake here must
				// not show only once the migration is done.
				if _, err := os.Stat(split.From); err != nil {
					return cli.Usagef("--split-config: %v", err)
				}
				if split.OutDir == "" {
					split.OutDir = filepath.Join(filepath.Dir(split.From), "teleclaude-split")
				}
				p, err := layout.Resolve(layout.Current(), layout.System)
				if err != nil {
					return &cli.UsageError{Err: err}
				}
				split.Paths = p
			}
			own, note, err := resolveOwner(owner)
			if err != nil {
				return err
			}
			o.Owner = own
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var prog *progress
			if term.IsTerminal(int(os.Stderr.Fd())) {
				prog = &progress{}
				o.Progress = prog.show
			}
			rep, err := migrate.Run(ctx, o)
			prog.done()
			if note != "" && rep.OwnerAssigned > 0 {
				rep.Notes = append(rep.Notes, note)
			}
			if err == nil && shared != "" {
				var derr error
				rep.Docs, derr = migrate.CopyDocs(copyDocs, shared)
				if derr != nil {
					rep.Failed = derr.Error()
					err = fmt.Errorf("the database was migrated, but %w", derr)
				}
			}
			if err == nil && split.From != "" {
				var serr error
				if confimport.IsUpstream(split.From) {
					rep.Split, serr = splitUpstreamFor(split)
				} else {
					rep.Split, serr = confimport.Split(split)
				}
				if serr != nil {
					rep.Failed = serr.Error()
					err = fmt.Errorf("the database was migrated, but splitting %s failed: %w", split.From, serr)
				}
			}
			if errors.Is(err, migrate.ErrUsage) {
				// The message says what to change; there is no report yet.
				return &cli.UsageError{Err: err}
			}
			if asJSON {
				if perr := cli.PrintJSON(os.Stdout, rep); perr != nil && err == nil {
					err = perr
				}
			} else {
				rep.Print(os.Stdout)
				if rep.OK && strings.HasPrefix(rep.SourceKind, "upstream") {
					fmt.Println()
					fmt.Println(migrate.RollbackUpstream(filepath.Dir(rep.Source), rep.Target))
				} else if rep.OK {
					fmt.Println()
					fmt.Println(migrate.Rollback(rep.Source, rep.Target))
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "the SQLite database file (required)")
	f.StringVar(&o.To, "to", "", "the PostgreSQL DSN, URL or key=value (required)")
	f.StringVar(&owner, "owner", "", "OS user (name or uid) who receives sessions without an owner")
	f.IntVar(&o.Batch, "batch", migrate.DefaultBatch, "rows per COPY statement")
	f.StringVar(&o.WorkDir, "work-dir", "", "where a copy of an old source is upgraded (default: the temp dir)")
	f.StringVar(&copyDocs, "copy-docs", "", "also copy the Markdown files of this directory to the system shared docs directory, never overwriting")
	f.StringVar(&split.From, "split-config", "", "also split this one-file config into system config, secrets and preferences (as teleclaude config split)")
	f.StringVar(&split.EnvFile, "split-env", "", "the .env the old config ran with, for --split-config")
	f.StringVar(&split.ServiceUser, "split-service-user", layout.ServiceUser(runtime.GOOS), "the daemon's OS user, who owns the split secrets.yml")
	// The old name, from when a group could read secrets.yml (as
	// config split --group).
	f.StringVar(&split.ServiceUser, "split-group", layout.ServiceUser(runtime.GOOS), "")
	f.MarkDeprecated("split-group", "the split secrets.yml is now the service user's alone (0600), not a group's; use --split-service-user")
	f.StringVar(&split.OutDir, "split-out", "", "where --split-config writes its three files (default: teleclaude-split beside the old config; nothing is overwritten)")
	f.StringVar(&install, "from-install", "", "move a whole upstream (Python) TeleClaude install: its checkout's config.yml, .env and teleclaude.db, the people of --home, and its docs")
	f.StringVar(&home, "home", "", "with --from-install: the home holding .teleclaude/ (default: the --owner's home)")
	f.BoolVar(&dryRun, "dry-run", false, "with --from-install: print what would be moved, and stop")
	f.BoolVar(&o.Coerce, "coerce", false, "carry a value that cannot be carried exactly in its nearest form, keeping the original beside it and listing it (default: refuse it)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// resolveOwner finds who receives unowned sessions: --owner, else the user
// running migrate (SUDO_USER under sudo; never root by default). The
// person's name is the system config's for that user, else the user name.
func resolveOwner(flag string) (*migrate.Owner, string, error) {
	var u osuser.User
	var err error
	switch {
	case flag != "":
		if n, nerr := strconv.Atoi(flag); nerr == nil {
			u, err = osuser.LookupID(n)
		} else {
			u, err = osuser.Lookup(flag)
		}
		if err != nil {
			return nil, "", cli.Usagef("--owner %s: %v", flag, err)
		}
	case os.Getuid() != 0:
		u, err = osuser.LookupID(os.Getuid())
	case os.Getenv("SUDO_USER") != "" && os.Getenv("SUDO_USER") != "root":
		u, err = osuser.Lookup(os.Getenv("SUDO_USER"))
	default:
		return nil, "", nil // root without sudo: only --owner says who
	}
	if err != nil {
		return nil, "", fmt.Errorf("find the owner for unowned sessions: %w", err)
	}
	o := &migrate.Owner{Person: u.Name, UID: int64(u.UID)}
	note := fmt.Sprintf("owner_person for unowned sessions is the OS user name %s: the system config does not map that user to a person", u.Name)
	if p, err := layout.Resolve(layout.Current(), layout.System); err == nil {
		if c, err := config.Load(p, os.Getenv); err == nil {
			if person, ok := c.PersonByOSUser(u.Name); ok {
				o.Person, note = person.Name, ""
			}
		}
	}
	return o, note, nil
}

// progress draws one line on the terminal, rewritten in place.
type progress struct{ shown bool }

func (p *progress) show(pr migrate.Progress) {
	p.shown = true
	if pr.Phase == "index" {
		fmt.Fprintf(os.Stderr, "\r\033[Krebuild %s (%d of %d)", pr.Table, pr.Done+1, pr.Total)
		return
	}
	pct := 100.0
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	fmt.Fprintf(os.Stderr, "\r\033[K%-6s %-20s %12d / %d rows (%.0f%%)", pr.Phase, pr.Table, pr.Done, pr.Total, pct)
}

func (p *progress) done() {
	if p != nil && p.shown {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
}

// runInstall is migrate --from-install: the whole upstream install, one
// command, one report.
func runInstall(dir, home, owner, out string, dryRun, asJSON bool, o migrate.Options) error {
	own, _, err := resolveOwner(owner)
	if err != nil {
		return err
	}
	o.Owner = own
	if home == "" {
		if own == nil {
			return cli.Usagef("--from-install: give --home (where .teleclaude/ lives) or --owner")
		}
		u, err := osuser.LookupID(int(own.UID))
		if err != nil {
			return cli.Usagef("--from-install: the home of uid %d: %v; give --home", own.UID, err)
		}
		home = u.Home
	}
	if out == "" {
		out = "teleclaude-import"
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	p, err := layout.Resolve(layout.Current(), layout.System)
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var prog *progress
	if term.IsTerminal(int(os.Stderr.Fd())) {
		prog = &progress{}
		o.Progress = prog.show
	}
	ir, err := migrate.RunInstall(ctx, migrate.InstallOptions{
		Dir: dir, Home: home, Out: out, SharedDir: p.SharedDir, DryRun: dryRun, Migration: o,
		LookupUser: func(name string) (int, bool) {
			u, err := osuser.Lookup(name)
			return u.UID, err == nil
		},
	})
	prog.done()
	if errors.Is(err, migrate.ErrUsage) && ir.Plan == nil {
		return &cli.UsageError{Err: err}
	}
	if asJSON {
		if perr := cli.PrintJSON(os.Stdout, ir); perr != nil && err == nil {
			err = perr
		}
	} else {
		ir.Print(os.Stdout)
	}
	return err
}

// splitUpstreamFor is --split-config for upstream's config.yml: the
// people come from the home of the config's owner.
func splitUpstreamFor(o confimport.SplitOptions) (*confimport.SplitResult, error) {
	home, _ := os.UserHomeDir()
	plan, err := confimport.Find(confimport.Options{ConfigOnly: true, Config: o.From, Env: o.EnvFile, Home: home,
		LookupUser: func(name string) (int, bool) {
			u, err := osuser.Lookup(name)
			return u.UID, err == nil
		}})
	if err != nil {
		return nil, err
	}
	files, err := plan.Write(o.OutDir)
	if err != nil {
		return nil, err
	}
	res := &confimport.SplitResult{}
	for _, f := range files {
		res.Files = append(res.Files, confimport.SplitFile{Layer: f.What, Path: f.Path, Mode: f.Mode, Owner: "", InstallAs: ""})
	}
	for _, i := range plan.NotCarried {
		res.Notes = append(res.Notes, "not carried (verbatim in not-carried.yml): "+i.String())
	}
	return res, nil
}
