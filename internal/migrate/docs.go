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

// CopyDocs copies the Markdown files directly in dir into the shared docs
// directory to, never overwriting a file there: an existing file is left
// as it is and reported (identical or different). New files are 0644 and,
// when we run as root, belong to the owner of to, so that the daemon can
// later replace them on `telec docs put`. Each file is reported; the first
// error stops the copy and is returned with the reports so far.
func CopyDocs(dir, to string) ([]DocReport, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("copy docs: %w", err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return nil, fmt.Errorf("copy docs: shared docs directory: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var out []DocReport
	for _, e := range entries {
		name := e.Name()
		if !strings.EqualFold(filepath.Ext(name), ".md") {
			continue
		}
		if !e.Type().IsRegular() {
			out = append(out, DocReport{name, "skipped: not a regular file"})
			continue
		}
		res, err := copyDoc(filepath.Join(dir, name), filepath.Join(to, name), to)
		if err != nil {
			return out, fmt.Errorf("copy docs: %s: %w", name, err)
		}
		out = append(out, DocReport{name, res})
	}
	if len(out) == 0 {
		out = append(out, DocReport{dir, "no Markdown files (*.md) there"})
	}
	return out, nil
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
