package config

import (
	"fmt"
	"os"
	"slices"

	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/prefs"
)

// CheckReport is what `teleclaude config check` found in every layer.
type CheckReport struct {
	Mode     layout.Mode   `json:"mode"`
	Files    []CheckedFile `json:"files"`
	Problems Problems      `json:"problems"`
	Warnings []string      `json:"warnings"`
	// Summary describes the effective config when there is no problem.
	Summary string `json:"summary,omitempty"`
	// Database is the effective database setting when there is no
	// problem: the package scripts read it to say where the data is.
	Database *Database `json:"database,omitempty"`
}

// CheckedFile is one layer's file and whether it exists.
type CheckedFile struct {
	Layer   string `json:"layer"`
	Path    string `json:"path"`
	Present bool   `json:"present"`
}

// Check validates every layer as the daemon and telec would load them: the
// system config with its secrets and the environment, and the preferences
// file at prefsPath (whole: a system-mode user's file, see prefs.File).
// Every problem is reported, not just the first.
func Check(p layout.Paths, getenv Getenv, prefsPath string, whole bool) *CheckReport {
	r := &CheckReport{Mode: p.Mode, Problems: Problems{}, Warnings: []string{}}
	for _, f := range []CheckedFile{{"config", p.ConfigFile, false}, {"secrets", p.SecretsFile, false}, {"preferences", prefsPath, false}} {
		if f.Path == "" || (f.Layer == "preferences" && !whole) {
			continue // in single-user mode the preferences are the config file's
		}
		_, err := os.Lstat(f.Path)
		f.Present = err == nil
		r.Files = append(r.Files, f)
	}
	c, err := Load(p, getenv)
	if err != nil {
		r.Problems = append(r.Problems, asProblems(err)...)
	} else {
		r.Warnings = append(r.Warnings, c.Warnings...)
		r.Warnings = append(r.Warnings, ProjectWarnings(c)...)
	}
	if _, err := prefs.Load(prefsPath, whole, prefs.Getenv(getenv)); err != nil {
		for _, pr := range asProblems(err) {
			if !slices.Contains(r.Problems, pr) { // single-user: the same file, checked by both
				r.Problems = append(r.Problems, pr)
			}
		}
	}
	if len(r.Problems) == 0 {
		r.Summary = fmt.Sprintf("%d people, %d projects, %d agents; database %s", len(c.People), len(c.Projects), len(c.Agents), c.Database.Engine)
		db := c.Database
		r.Database = &db
	}
	return r
}

func asProblems(err error) Problems {
	if ps, ok := err.(Problems); ok {
		return ps
	}
	return Problems{{Msg: err.Error()}}
}
