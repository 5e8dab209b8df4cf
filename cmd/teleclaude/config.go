package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/confimport"
	"github.com/instruktai/teleclaude/internal/fileown"
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
			shown := ""
			if prefsPath != "" {
				f, err := openUserFile(prefsPath)
				if err != nil {
					return &cli.UsageError{Err: err}
				}
				defer f.Close()
				// Read through the descriptor checked, not the name again.
				path, whole, shown = fmt.Sprintf("/dev/fd/%d", f.Fd()), true, prefsPath
			}
			r := config.Check(p, os.Getenv, path, whole)
			if shown != "" {
				for i := range r.Files {
					if r.Files[i].Path == path {
						r.Files[i].Path = shown
					}
				}
				for i := range r.Problems {
					if r.Problems[i].File == path {
						r.Problems[i].File = shown
					}
					r.Problems[i].Msg = strings.ReplaceAll(r.Problems[i].Msg, path, shown)
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := cli.PrintJSON(out, r); err != nil {
					return err
				}
				if n := len(r.Problems); n > 0 {
					return &cli.ReportedError{Err: cli.Usagef("%d problem(s) in the configuration", n)}
				}
				return nil
			}
			fmt.Fprintf(out, "%s mode (%s)\n", r.Mode, d.Reason)
			for _, f := range r.Files {
				state := ""
				if !f.Present {
					state = " (none)"
				}
				fmt.Fprintf(out, "  %-14s %s%s\n", f.Layer, f.Path, state)
			}
			for _, pr := range r.Problems {
				fmt.Fprintln(out, pr)
			}
			for _, w := range r.Warnings {
				fmt.Fprintln(out, "warning:", w)
			}
			if r.Summary != "" {
				fmt.Fprintln(out, "OK:", r.Summary)
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

// openUserFile opens a file that a user controls for an admin (often root)
// to read: never through a symbolic link, only a regular file, and only one
// owned by whoever owns the directory it is in (or in a directory of
// root's that nobody else may write, as config split's output). Otherwise
// a user's "preferences" could be /etc/shadow, and its lines would come
// back in the error messages.
func openUserFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s is a symbolic link; check the file itself", path)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	dir, derr := os.Lstat(filepath.Dir(path))
	fo, ok1 := fileown.Of(st)
	do, ok2 := fileown.Of(dir)
	switch {
	case !st.Mode().IsRegular():
		err = fmt.Errorf("%s is not a regular file", path)
	case derr != nil:
		err = derr
	case !ok1 || !ok2:
		err = fmt.Errorf("cannot tell who owns %s", path)
	case fo.UID != do.UID && (do.UID != 0 || dir.Mode().Perm()&0o022 != 0):
		err = fmt.Errorf("%s belongs to uid %d, but its directory to uid %d: not a file of that user's; refusing to read it", path, fo.UID, do.UID)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
