package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/instruktai/teleclaude/internal/confimport"
)

// InstallOptions says which upstream install to move where.
type InstallOptions struct {
	Dir  string // the upstream checkout
	Home string // where its .teleclaude/ lives
	Out  string // where the imported config files go
	// SharedDir receives the install's docs/ ("" leaves them).
	SharedDir string
	DryRun    bool
	// LookupUser finds an OS account: uid and whether it exists.
	LookupUser func(name string) (int, bool)
	// Migration is the database part; its From and People are filled in.
	Migration Options
}

// InstallReport says what a move of a whole install found and did.
type InstallReport struct {
	Plan      *confimport.Plan     `json:"plan"`
	DryRun    bool                 `json:"dry_run"`
	Database  *Report              `json:"database,omitempty"`
	Config    []confimport.Written `json:"config,omitempty"`
	Docs      []DocReport          `json:"docs,omitempty"`
	DocCounts map[string]int       `json:"doc_counts,omitempty"`
	// Check is what reading the target back, read-only, found.
	Check    string `json:"check,omitempty"`
	Rollback string `json:"rollback,omitempty"`
	Failed   string `json:"error,omitempty"`
}

// RunInstall moves an upstream install: it finds and checks everything
// first (config, people, docs, the output directory), prints nothing and
// writes nothing until the database is committed, then writes the config
// and copies the docs. Every input file is hashed before and after.
func RunInstall(ctx context.Context, o InstallOptions) (*InstallReport, error) {
	ir := &InstallReport{DryRun: o.DryRun}
	plan, err := confimport.Find(confimport.Options{Dir: o.Dir, Home: o.Home, LookupUser: o.LookupUser})
	if err != nil {
		return ir, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	ir.Plan = plan
	if err := plan.Check(o.Out); err != nil {
		return ir, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if plan.Docs != "" && o.SharedDir != "" {
		conflicts, err := DocConflicts(plan.Docs, o.SharedDir)
		if err != nil {
			return ir, err
		}
		if len(conflicts) > 0 {
			return ir, fmt.Errorf("%w: docs with the same relative path and other content are already in %s: %s; move them away or merge them first (nothing was done)", ErrUsage, o.SharedDir, strings.Join(first(conflicts, 10), ", "))
		}
	}
	inputs := inputFiles(plan)
	before, err := hashAll(inputs)
	if err != nil {
		return ir, err
	}
	if o.DryRun {
		return ir, nil
	}
	m := o.Migration
	m.From = plan.Database
	m.People = map[string]Owner{}
	for _, p := range plan.People {
		if p.Mapped {
			m.People[strings.ToLower(p.Email)] = Owner{Person: p.Name, UID: int64(p.UID)}
		}
	}
	ir.Database, err = Run(ctx, m)
	if err != nil {
		return ir, err
	}
	ir.Rollback = RollbackUpstream(plan.Dir, ir.Database.Target)
	fail := func(err error) (*InstallReport, error) {
		ir.Failed = err.Error()
		return ir, fmt.Errorf("the database was moved and committed, but %w", err)
	}
	if ir.Config, err = plan.Write(o.Out); err != nil {
		return fail(fmt.Errorf("writing the config to %s failed: %w", o.Out, err))
	}
	if plan.Docs != "" && o.SharedDir != "" {
		if ir.Docs, err = CopyDocs(plan.Docs, o.SharedDir); err != nil {
			return fail(err)
		}
		ir.DocCounts = map[string]int{}
		for _, d := range ir.Docs {
			switch {
			case strings.HasPrefix(d.Result, "copied"):
				ir.DocCounts["copied"]++
			case strings.Contains(d.Result, "identical"):
				ir.DocCounts["already there, identical"]++
			default:
				ir.DocCounts["skipped"]++
			}
		}
	}
	if ir.Check, err = checkTarget(ctx, m.To); err != nil {
		return fail(err)
	}
	after, err := hashAll(inputs)
	if err != nil {
		return fail(err)
	}
	for _, f := range inputs {
		if before[f] != after[f] {
			return fail(fmt.Errorf("%s changed while it was read (SHA-256 %s before, %s after): some other process wrote it", f, before[f], after[f]))
		}
	}
	return ir, nil
}

// inputFiles are the install's files that must stay as they were.
func inputFiles(p *confimport.Plan) []string {
	files := []string{p.Config}
	for _, f := range []string{p.Env, p.PeopleFile} {
		if f != "" {
			files = append(files, f)
		}
	}
	files = append(files, p.PersonDirs...)
	if p.Docs != "" {
		filepath.WalkDir(p.Docs, func(path string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
	}
	sort.Strings(files)
	return files
}

func hashAll(files []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return nil, err
		}
		out[f] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}

// checkTarget reads the committed target as a starting daemon would, in
// a read-only transaction: its sessions, and the upstream schema's tables.
func checkTarget(ctx context.Context, dsn string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", fmt.Errorf("check the target: %w", err)
	}
	defer c.Close(context.Background())
	tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return "", fmt.Errorf("check the target: %w", err)
	}
	defer tx.Rollback(context.Background())
	var sessions, tables int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&sessions); err != nil {
		return "", fmt.Errorf("check the target: list sessions: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, UpstreamSchema).Scan(&tables); err != nil {
		return "", fmt.Errorf("check the target: %w", err)
	}
	return fmt.Sprintf("read back read-only: %d sessions, %d tables in schema %s", sessions, tables, UpstreamSchema), nil
}

// RollbackUpstream tells an admin how to go back to the Python daemon,
// whose files were only read.
func RollbackUpstream(dir, target string) string {
	return fmt.Sprintf(`To start this daemon on PostgreSQL:
  1. install the imported config.yml and secrets.yml (see their headers), with
     database: {engine: postgresql, ...} naming %s
  2. systemctl start teleclaude     (it lists the moved sessions: telec list --all)
To roll back to the upstream Python TeleClaude: its files in %s
(config.yml, .env, teleclaude.db) were only read and are unchanged:
  1. systemctl stop teleclaude      (this daemon; never point it at teleclaude.db:
                                     it refuses that file)
  2. start the Python daemon again in %s as before (its own service or make start)
  Anything done on PostgreSQL after the move is not in teleclaude.db. To move
  again later, empty the PostgreSQL database first (dropdb and createdb it).`, target, dir, dir)
}

// Print writes the report for a person.
func (ir *InstallReport) Print(w io.Writer) {
	p := ir.Plan
	if p != nil {
		fmt.Fprintf(w, "upstream install %s\n", p.Dir)
		fmt.Fprintf(w, "  config     %s\n", p.Config)
		if p.Env != "" {
			fmt.Fprintf(w, "  env        %s (%d secrets: %s; values never printed)\n", p.Env, len(p.SecretNames), strings.Join(p.SecretNames, ", "))
		}
		fmt.Fprintf(w, "  database   %s\n", p.Database)
		if p.PeopleFile != "" {
			fmt.Fprintf(w, "  people     %s (+%d per-person files)\n", p.PeopleFile, len(p.PersonDirs))
		}
		if p.Docs != "" {
			fmt.Fprintf(w, "  docs       %s\n", p.Docs)
		}
		fmt.Fprintf(w, "computer %s; agents %s (default %s)\n", p.Computer, strings.Join(p.Agents, ", "), p.DefaultAgent)
		for _, pr := range p.Projects {
			fmt.Fprintf(w, "project %s → %s\n", pr.Name, pr.Path)
		}
		for _, pe := range p.People {
			if pe.Mapped {
				fmt.Fprintf(w, "person %s <%s> %s → OS user %s (uid %d)\n", pe.Name, pe.Email, pe.Role, pe.Username, pe.UID)
			} else {
				fmt.Fprintf(w, "person %s <%s> %s → NOT MAPPED: %s\n", pe.Name, pe.Email, pe.Role, pe.Why)
			}
		}
		if len(p.NotCarried) > 0 {
			fmt.Fprintf(w, "not carried (no counterpart here yet; kept verbatim in not-carried.yml):\n")
			for _, i := range p.NotCarried {
				fmt.Fprintf(w, "  %s\n", i)
			}
		}
	}
	if ir.DryRun {
		fmt.Fprintln(w, "dry run: nothing was read from the database, nothing written")
		return
	}
	if ir.Database != nil {
		fmt.Fprintln(w)
		ir.Database.Print(w)
	}
	for _, f := range ir.Config {
		fmt.Fprintf(w, "wrote %s (%s, mode %s)\n", f.Path, f.What, f.Mode)
	}
	if ir.DocCounts != nil {
		var parts []string
		for _, k := range []string{"copied", "already there, identical", "skipped"} {
			parts = append(parts, fmt.Sprintf("%d %s", ir.DocCounts[k], k))
		}
		fmt.Fprintf(w, "docs: %s\n", strings.Join(parts, ", "))
	}
	if ir.Check != "" {
		fmt.Fprintf(w, "target %s\n", ir.Check)
	}
	if ir.Rollback != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, ir.Rollback)
	}
}
