package migrate

import (
	"fmt"
	"github.com/instruktai/teleclaude/internal/confimport"
	"io"
	"sort"
	"strings"
	"time"
)

// Report says what a migration did, table by table and column by column.
type Report struct {
	OK           bool           `json:"ok"`
	Failed       string         `json:"error,omitempty"`
	Source       string         `json:"source"`
	SourceKind   string         `json:"source_kind"`
	SourceSHA256 string         `json:"source_sha256,omitempty"` // before and after: the same
	Target       string         `json:"target"`
	Started      time.Time      `json:"started"`
	Seconds      float64        `json:"seconds"`
	Tables       []*TableReport `json:"tables"`
	LeftBehind   []LeftBehind   `json:"left_behind,omitempty"`
	// Coerced counts the values carried in their nearest form (--coerce);
	// Coercions lists them, the first maxListed.
	Coerced   int64      `json:"coerced"`
	Coercions []Coercion `json:"coercions,omitempty"`
	// OwnerMapped counts upstream sessions whose owner came from the
	// people mapping.
	OwnerMapped int64 `json:"owner_mapped,omitempty"`
	// Skipped are derived tables (full-text indexes) that are not copied.
	Skipped   []Skipped        `json:"skipped,omitempty"`
	Sequences []SequenceReport `json:"sequences,omitempty"`
	// OwnerAssigned counts sessions that had no owner and were given to
	// the --owner user.
	OwnerAssigned int64       `json:"owner_assigned"`
	Notes         []string    `json:"notes,omitempty"`
	Docs          []DocReport `json:"docs,omitempty"`
	// Split is what --split-config wrote.
	Split *confimport.SplitResult `json:"split_config,omitempty"`
}

// TableReport is one target table.
type TableReport struct {
	Name           string `json:"name"`
	From           string `json:"from,omitempty"` // the source table when it has another name or shape
	SourceRows     int64  `json:"source_rows"`
	TargetRows     int64  `json:"target_rows"`
	SourceChecksum string `json:"source_checksum"`
	TargetChecksum string `json:"target_checksum"`
	Verified       bool   `json:"verified"`
	// Keys are the keys and indexes made on an upstream table after the
	// copy.
	Keys    []string        `json:"keys,omitempty"`
	Columns []*ColumnReport `json:"columns"`
}

// ColumnReport says where a target column's values came from and what was
// done to them; Forms counts the shapes the source values had.
type ColumnReport struct {
	To     string           `json:"to"`
	Type   string           `json:"type"`
	From   string           `json:"from"`
	Action string           `json:"action"`
	Forms  map[string]int64 `json:"forms,omitempty"`
}

// LeftBehind is a source table or column that has no place in the target.
type LeftBehind struct {
	Table  string `json:"table"`
	Column string `json:"column,omitempty"`
	Rows   int64  `json:"rows"`
	Why    string `json:"why"`
}

// Coercion is one value carried in its nearest form: an upstream one under
// --coerce (its original kept where Kept says), or one of this program's
// own database in the form the daemon itself would have stored.
type Coercion struct {
	Table  string `json:"table"`
	Row    string `json:"row"` // the session id, else the rowid
	Column string `json:"column"`
	From   string `json:"from"`
	To     string `json:"to"`
	Kept   string `json:"kept,omitempty"` // where the original is
}

const maxListed = 1000

func (r *Report) addCoercion(c Coercion) {
	r.Coerced++
	if len(r.Coercions) < maxListed {
		r.Coercions = append(r.Coercions, c)
	}
}

func (r *Report) addCoercions(cs []Coercion) {
	for _, c := range cs {
		r.addCoercion(c)
	}
}

// Skipped is a source table that is not data: a virtual table or its
// shadow table, rebuilt from the tables it indexes.
type Skipped struct {
	Table string `json:"table"`
	Why   string `json:"why"`
}

// SequenceReport is a sequence reset after the copy.
type SequenceReport struct {
	Sequence string `json:"sequence"`
	Table    string `json:"table"`
	Column   string `json:"column"`
	Next     int64  `json:"next"`
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	if r.SourceKind != "" {
		fmt.Fprintf(w, "source: %s (%s)\n", r.Source, r.SourceKind)
	} else {
		fmt.Fprintf(w, "source: %s\n", r.Source)
	}
	if r.Target != "" {
		fmt.Fprintf(w, "target: %s\n", r.Target)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(r.Tables) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%-20s %12s %12s  %-32s %s\n", "table", "source rows", "target rows", "checksum (source = target)", "")
		for _, t := range r.Tables {
			state := "verified"
			if !t.Verified {
				state = "NOT verified"
			}
			sum := t.SourceChecksum
			if t.TargetChecksum != "" && t.TargetChecksum != t.SourceChecksum {
				sum += " ≠ " + t.TargetChecksum
			}
			fmt.Fprintf(w, "%-20s %12d %12d  %-32s %s\n", t.Name, t.SourceRows, t.TargetRows, sum, state)
		}
		fmt.Fprintln(w)
		for _, t := range r.Tables {
			from := ""
			if t.From != "" {
				from = " (from " + t.From + ")"
			}
			fmt.Fprintf(w, "%s%s:\n", t.Name, from)
			for _, c := range t.Columns {
				src := c.From
				if src == "" {
					src = "—"
				}
				fmt.Fprintf(w, "  %-20s ← %-28s %s%s\n", c.To, src, c.Action, formsText(c.Forms))
			}
			if len(t.Keys) > 0 {
				fmt.Fprintf(w, "  keys and indexes made after the copy: %s\n", strings.Join(t.Keys, "; "))
			}
		}
	}
	if len(r.LeftBehind) > 0 {
		fmt.Fprintln(w, "\nleft behind (still in the source file, which is unchanged):")
		for _, l := range r.LeftBehind {
			name := l.Table
			if l.Column != "" {
				name += "." + l.Column
			}
			fmt.Fprintf(w, "  %-30s %8d rows  %s\n", name, l.Rows, l.Why)
		}
	}
	if r.Coerced > 0 {
		fmt.Fprintf(w, "\ncoerced: %d values carried in their nearest form, not as they were:\n", r.Coerced)
		for _, c := range r.Coercions {
			// Upstream's under --coerce keep their original; this
			// program's own database holds what the daemon would have
			// stored (U+FFFD for a NUL, the last of two JSON keys).
			kept := "; the original is not kept (as the daemon itself stores such a value)"
			if c.Kept != "" {
				kept = "; original in " + c.Kept
			}
			fmt.Fprintf(w, "  %s row %s column %s: %s → %s%s\n", c.Table, c.Row, c.Column, c.From, c.To, kept)
		}
		if int64(len(r.Coercions)) < r.Coerced {
			fmt.Fprintf(w, "  … and %d more (the first %d are listed)\n", r.Coerced-int64(len(r.Coercions)), maxListed)
		}
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintln(w, "\nskipped (derived indexes, not data; read neither from nor into):")
		for _, s := range r.Skipped {
			fmt.Fprintf(w, "  %-30s %s\n", s.Table, s.Why)
		}
	}
	for _, s := range r.Sequences {
		fmt.Fprintf(w, "sequence %s (%s.%s): next value %d\n", s.Sequence, s.Table, s.Column, s.Next)
	}
	if r.OwnerAssigned > 0 {
		fmt.Fprintf(w, "%d sessions without an owner were given to the --owner user\n", r.OwnerAssigned)
	}
	for _, d := range r.Docs {
		fmt.Fprintf(w, "doc %s: %s\n", d.Name, d.Result)
	}
	if r.Split != nil {
		for _, f := range r.Split.Files {
			fmt.Fprintf(w, "config split: wrote %s (%s %s), install as %s\n", f.Path, f.Mode, f.Owner, f.InstallAs)
		}
		for _, n := range r.Split.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if r.SourceSHA256 != "" {
		fmt.Fprintf(w, "source unchanged: SHA-256 %s before and after (sha256sum %s)\n", r.SourceSHA256, r.Source)
	}
	fmt.Fprintf(w, "took %.1f s\n", r.Seconds)
}

func formsText(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(parts)
	return " [" + strings.Join(parts, "; ") + "]"
}

// Rollback tells an admin how to go back to SQLite after a migration that
// committed.
func Rollback(source, target string) string {
	return fmt.Sprintf(`To roll back to SQLite (the source was only read, and is unchanged):
  1. stop the daemon:                systemctl stop teleclaude
  2. set the config back:            database: {engine: sqlite, path: %s}
  3. start the daemon:               systemctl start teleclaude
  Anything written to PostgreSQL after the migration is not in the SQLite file.
  To migrate again later, empty the PostgreSQL database first (%s):
     dropdb and createdb it again (teleclaude setup-db creates it)`, source, target)
}
