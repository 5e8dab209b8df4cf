package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/confimport"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/prefs"
	"github.com/spf13/cobra"
)

func configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the configuration, or split a one-file config into its three layers",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(configCheckCmd(), configSplitCmd())
	return cmd
}

func configCheckCmd() *cobra.Command {
	var asJSON bool
	var prefsPath string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate every layer (system config, secrets, environment, preferences); exit 2 on any problem",
		Long: `check loads the configuration as the daemon would (system config, secrets,
TELECLAUDE_* variables) and the preferences as telec would, and prints every
problem as file:line: message. Exit code 0 when there is none (warnings
allowed), 2 otherwise.

--preferences checks another user's ~/.teleclaude/config.yml instead of yours.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, d, err := layout.Detect()
			if err != nil {
				return &cli.UsageError{Err: err}
			}
			path, whole := prefs.File(p, layout.Current().Home)
			if prefsPath != "" {
				path, whole = prefsPath, true
			}
			r := config.Check(p, os.Getenv, path, whole)
			if asJSON {
				if err := cli.PrintJSON(os.Stdout, r); err != nil {
					return err
				}
			} else {
				fmt.Printf("%s mode (%s)\n", r.Mode, d.Reason)
				for _, f := range r.Files {
					state := ""
					if !f.Present {
						state = " (none)"
					}
					fmt.Printf("  %-14s %s%s\n", f.Layer, f.Path, state)
				}
				for _, pr := range r.Problems {
					fmt.Println(pr)
				}
				for _, w := range r.Warnings {
					fmt.Println("warning:", w)
				}
				if r.Summary != "" {
					fmt.Println("OK:", r.Summary)
				}
			}
			if n := len(r.Problems); n > 0 {
				return cli.Usagef("%d problem(s) in the configuration", n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&prefsPath, "preferences", "", "a user's preferences file to check (default: yours)")
	return cmd
}

func configSplitCmd() *cobra.Command {
	var o confimport.SplitOptions
	var asJSON bool
	var home string
	cmd := &cobra.Command{
		Use:   "split --from OLD.yml [--env .env] --out DIR",
		Short: "Turn a one-file config (and its .env) into system config, secrets and preferences",
		Long: `split reads a one-file config — the system config's keys, a secrets: section
shaped like secrets.yml, a preferences: section, agents' env holding keys —
and the .env it ran with, and writes three files into DIR:

  config.yml       the system config (comments kept), root:root 0644
  secrets.yml      database password, agents' keys, adapter tokens,
                   SERVICE-USER:root 0600 (--service-user): only root and
                   the daemon may read it, not the socket's group
  user-config.yml  the preferences, owned by their user (--user, default the
                   owner of OLD.yml), 0644: install as ~/.teleclaude/config.yml

Agent env entries named or shaped like secrets move to secrets.yml and are
named in the agent's secrets_env. The inputs are only read; existing files in
DIR are never overwritten. Before it finishes, split loads what it wrote and
checks that it means the same as the input. Without root, every file stays
yours (secrets 0600) and split prints what to run as root.

The upstream Python TeleClaude's config.yml (with its .env, and the people
of --home's .teleclaude/teleclaude.yml) is read in its own format: computer,
projects, agents and people become config.yml, the .env's keys and tokens
secrets.yml (0600), and everything else goes verbatim to not-carried.yml,
listed by file:line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := layout.Resolve(layout.Current(), layout.System)
			if err != nil {
				return &cli.UsageError{Err: err}
			}
			o.Paths = p
			if confimport.IsUpstream(o.From) {
				return splitUpstream(o.From, o.EnvFile, home, o.OutDir, asJSON)
			}
			res, err := confimport.Split(o)
			if err != nil {
				return err
			}
			if asJSON {
				return cli.PrintJSON(os.Stdout, res)
			}
			for _, f := range res.Files {
				fmt.Printf("wrote %-40s %s %-20s install as %s\n", f.Path, f.Mode, f.Owner, f.InstallAs)
			}
			for _, n := range res.Notes {
				fmt.Println("  " + n)
			}
			fmt.Println("checked: the three files load to the same configuration as the input")
			return nil
		},
	}
	cmd.Flags().StringVar(&o.From, "from", "", "the one-file config to split (only read)")
	cmd.Flags().StringVar(&o.EnvFile, "env", "", "the .env file it ran with (only read)")
	cmd.Flags().StringVar(&o.OutDir, "out", "", "directory for the three files (created if missing; nothing in it is overwritten)")
	cmd.Flags().StringVar(&o.ServiceUser, "service-user", layout.ServiceUser(runtime.GOOS), "the daemon's OS user, who owns secrets.yml")
	// --group once named the group that could read secrets.yml; that group
	// is the socket's, so no group reads it any more. The service user's
	// group has its name, so an old --group still means the right account.
	cmd.Flags().StringVar(&o.ServiceUser, "group", layout.ServiceUser(runtime.GOOS), "")
	cmd.Flags().MarkDeprecated("group", "secrets.yml is now the service user's alone (0600), not a group's; use --service-user")
	cmd.Flags().StringVar(&o.User, "user", "", "owner of user-config.yml (default: the owner of --from)")
	cmd.Flags().StringVar(&home, "home", "", "for upstream's (Python TeleClaude) config.yml: the home holding .teleclaude/teleclaude.yml with its people (default: yours)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was written as JSON")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("out")
	return cmd
}

// splitUpstream is config split for the upstream Python TeleClaude's
// config.yml.
func splitUpstream(from, env, home, out string, asJSON bool) error {
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return cli.Usagef("--home: %v", err)
		}
		home = h
	}
	plan, err := confimport.Find(confimport.Options{ConfigOnly: true, Config: from, Env: env, Home: home,
		LookupUser: func(name string) (int, bool) {
			u, err := osuser.Lookup(name)
			return u.UID, err == nil
		}})
	if err != nil {
		return err
	}
	files, err := plan.Write(out)
	if err != nil {
		return err
	}
	if asJSON {
		return cli.PrintJSON(os.Stdout, map[string]any{"plan": plan, "files": files})
	}
	for _, f := range files {
		fmt.Printf("wrote %-40s %s (%s)\n", f.Path, f.Mode, f.What)
	}
	for _, pe := range plan.People {
		if !pe.Mapped {
			fmt.Printf("  person %s <%s>: %s\n", pe.Name, pe.Email, pe.Why)
		}
	}
	if len(plan.NotCarried) > 0 {
		fmt.Println("not carried (no counterpart here yet; verbatim in not-carried.yml):")
		for _, i := range plan.NotCarried {
			fmt.Println("  " + i.String())
		}
	}
	return nil
}
