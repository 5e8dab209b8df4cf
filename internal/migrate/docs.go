package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DocReport says what happened to one file of --copy-docs.
type DocReport struct {
	Name   string `json:"name"`
	Result string `json:"result"`
}

// CopyDocs copies the Markdown files under dir, in nested folders too,
// into the shared docs directory to under the same relative paths, never
// overwriting a file there: an existing file is left as it is and reported
// (identical or different). New files are 0644 and new folders 0755 and,
// when we run as root, belong to the owner of to, so that the daemon can
// later replace them on `telec docs put`. Each file is reported; the first
// error stops the copy and is returned with the reports so far.
func CopyDocs(dir, to string) ([]DocReport, error) {
	names, err := markdownUnder(dir)
	if err != nil {
		return nil, fmt.Errorf("copy docs: %w", err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return nil, fmt.Errorf("copy docs: shared docs directory: %w", err)
	}
	var out []DocReport
	for _, d := range names {
		if d.Result != "" {
			out = append(out, d)
			continue
		}
		target := filepath.Join(to, filepath.FromSlash(d.Name))
		if err := mkdirsLike(filepath.Dir(target), to); err != nil {
			return out, fmt.Errorf("copy docs: %s: %w", d.Name, err)
		}
		res, err := copyDoc(filepath.Join(dir, filepath.FromSlash(d.Name)), target, to)
		if err != nil {
			return out, fmt.Errorf("copy docs: %s: %w", d.Name, err)
		}
		out = append(out, DocReport{d.Name, res})
	}
	if len(out) == 0 {
		out = append(out, DocReport{dir, "no Markdown files (*.md) there"})
	}
	return out, nil
}

// DocConflicts lists the Markdown files under dir whose relative path
// exists in to with other content: CopyDocs would leave them out, so a
// whole move checks this before it commits anything.
func DocConflicts(dir, to string) ([]string, error) {
	names, err := markdownUnder(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range names {
		if d.Result != "" {
			continue
		}
		theirs, err := os.ReadFile(filepath.Join(to, filepath.FromSlash(d.Name)))
		if err != nil {
			continue
		}
		mine, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(d.Name)))
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(mine, theirs) {
			out = append(out, d.Name)
		}
	}
	return out, nil
}

// markdownUnder lists the *.md files under dir by slash-separated
// relative path, sorted; one that is not a regular file comes with its
// Result already said.
func markdownUnder(dir string) ([]DocReport, error) {
	var out []DocReport
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.EqualFold(filepath.Ext(p), ".md") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		d := DocReport{Name: filepath.ToSlash(rel)}
		if !e.Type().IsRegular() {
			d.Result = "skipped: not a regular file"
		}
		out = append(out, d)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// mkdirsLike makes dir and its missing parents below top, each 0755 and
// owned like top.
func mkdirsLike(dir, top string) error {
	if dir == top {
		return nil
	}
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := mkdirsLike(filepath.Dir(dir), top); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return chownLike(dir, top)
}

func copyDoc(from, to, dir string) (string, error) {
	data, err := os.ReadFile(from)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		old, rerr := os.ReadFile(to)
		switch {
		case rerr != nil:
			return "skipped: " + to + " exists (not overwritten)", nil
		case bytes.Equal(old, data):
			return "skipped: " + to + " exists, identical", nil
		default:
			return "skipped: " + to + " exists and differs (not overwritten; compare them by hand)", nil
		}
	}
	if err != nil {
		return "", err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(to)
		return "", werr
	}
	if err := chownLike(to, dir); err != nil {
		return "", err
	}
	return "copied to " + to, nil
}
