// Package docs serves the shared docs: Markdown snippets whose front matter
// names the lowest role that may read them (docs/DESIGN.md, "Request path"). Snippets shipped with
// the package are read-only; the runtime directory holds what admins and
// members add, and a snippet there overrides a shipped one of the same name.
package docs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"
)

// DefaultRole is the reader's minimum role when a snippet names none.
const DefaultRole = identity.Member

// MaxSize bounds a snippet.
const MaxSize = 1 << 20

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// A snippet's name is its path below the docs directory without ".md",
// folders separated by "/" (upstream keeps its snippets in nested
// folders): each part a name as nameRe says, at most maxDepth deep.
const maxDepth = 8

func validName(name string) bool {
	parts := strings.Split(name, "/")
	if len(parts) > maxDepth {
		return false
	}
	for _, p := range parts {
		if !nameRe.MatchString(p) {
			return false
		}
	}
	return true
}

// docPath is where a snippet of a checked name lives under dir.
func docPath(dir, name string) string { return filepath.Join(dir, filepath.FromSlash(name)+".md") }

// Doc is a snippet. Content is set only by Get.
type Doc struct {
	Name      string        `json:"name"`
	Role      identity.Role `json:"role"`
	Size      int64         `json:"size"`
	UpdatedAt time.Time     `json:"updated_at"`
	Shipped   bool          `json:"shipped"`
	Content   string        `json:"content,omitempty"`
}

// Library is the shared docs of one daemon.
type Library struct {
	Shipped string // read-only directory; "" for none
	Shared  string // the runtime directory where Put writes
	// Claim, when set, records that person writes the doc name of size
	// bytes, or refuses it (their quotas: the store's ClaimDoc). It runs
	// before the doc takes its place, so a refused doc is never written.
	Claim func(ctx context.Context, person, name string, size int64) error
}

// List returns the snippets the role may read, by name.
func (l *Library) List(role identity.Role) ([]Doc, error) {
	all := map[string]Doc{}
	for _, d := range []struct {
		dir     string
		shipped bool
	}{{l.Shipped, true}, {l.Shared, false}} {
		if d.dir == "" {
			continue
		}
		if _, err := os.Stat(d.dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		// Nested folders too; symlinked folders are not followed.
		err := filepath.WalkDir(d.dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(d.dir, path)
			if err != nil || e.IsDir() {
				return err
			}
			name, ok := strings.CutSuffix(filepath.ToSlash(rel), ".md")
			if !ok || !validName(name) || !e.Type().IsRegular() {
				return nil
			}
			doc, err := load(path, name, d.shipped, false)
			if err != nil {
				logrus.WithError(err).Warn("skipping a doc")
				return nil
			}
			all[name] = doc // the runtime directory comes second and wins
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list docs: %w", err)
		}
	}
	out := []Doc{}
	for _, d := range all {
		if role.AtLeast(d.Role) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns one snippet with its content. One the role may not read is
// reported as missing, as List leaves it out.
func (l *Library) Get(role identity.Role, name string) (Doc, error) {
	name, err := checkName(name)
	if err != nil {
		return Doc{}, err
	}
	for _, d := range []struct {
		dir     string
		shipped bool
	}{{l.Shared, false}, {l.Shipped, true}} {
		if d.dir == "" {
			continue
		}
		doc, err := load(docPath(d.dir, name), name, d.shipped, true)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Doc{}, err
		}
		if !role.AtLeast(doc.Role) {
			break
		}
		return doc, nil
	}
	return Doc{}, errdefs.NotFoundf("no doc %q that you may read", name)
}

// Put writes a snippet to the runtime directory, replacing one of the same
// name; created reports whether it is new there. Only a snippet the role
// may read can be replaced (a shipped one is overridden): nobody replaces
// what they cannot see.
//
// person is who writes it: a doc counts against its last writer's quotas.
func (l *Library) Put(ctx context.Context, role identity.Role, person, name string, content []byte) (doc Doc, created bool, err error) {
	if name, err = checkName(name); err != nil {
		return Doc{}, false, err
	}
	if _, err := l.Get(role, name); err == nil {
	} else if k, _ := errdefs.KindOf(err); k != errdefs.NotFound {
		return Doc{}, false, err
	} else if l.exists(name) {
		return Doc{}, false, errdefs.Forbiddenf("a doc %q exists that your role may not read; it cannot be replaced by you", name)
	}
	if len(content) > MaxSize {
		return Doc{}, false, errdefs.Invalidf("doc is %d bytes; at most %d", len(content), MaxSize)
	}
	if !utf8.Valid(content) || bytes.IndexByte(content, 0) >= 0 {
		return Doc{}, false, errdefs.Invalidf("doc is not UTF-8 text")
	}
	// Markdown needs no terminal controls: a doc with an escape sequence
	// is made to act on its readers' terminals (telec shows what comes
	// from the daemon escaped, but other readers of the API may not).
	for i, r := range string(content) {
		if r != '\n' && r != '\t' && r != '\r' && (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f) {
			return Doc{}, false, errdefs.Invalidf("doc has control character %U at byte %d; docs are text (newlines and tabs are fine)", r, i)
		}
	}
	if _, _, err := parse(content); err != nil {
		return Doc{}, false, errdefs.Invalidf("doc %s: %v", name, err)
	}
	if _, err := os.Stat(l.Shared); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(l.Shared, 0o755); err != nil {
			return Doc{}, false, fmt.Errorf("docs directory: %w", err)
		}
		os.Chmod(l.Shared, 0o755) // world-readable, whatever the umask
	}
	path := docPath(l.Shared, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return Doc{}, false, fmt.Errorf("docs folder: %w", err)
	}
	for dir := filepath.Dir(path); dir != l.Shared && strings.HasPrefix(dir, l.Shared); dir = filepath.Dir(dir) {
		os.Chmod(dir, 0o755) // world-readable names, as the directory's
	}
	_, statErr := os.Lstat(path)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".put-")
	if err != nil {
		return Doc{}, false, fmt.Errorf("write doc: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return Doc{}, false, fmt.Errorf("write doc: %w", err)
	}
	// The daemon's alone: who may read a doc is its role's to say, through
	// the API. (The directory's names may be world-readable, but an
	// admin's runbook must not be one cat away from a member.)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return Doc{}, false, fmt.Errorf("write doc: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Doc{}, false, fmt.Errorf("write doc: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Doc{}, false, fmt.Errorf("write doc: %w", err)
	}
	if l.Claim != nil {
		if err := l.Claim(ctx, person, name, int64(len(content))); err != nil {
			return Doc{}, false, err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Doc{}, false, fmt.Errorf("write doc: %w", err)
	}
	doc, err = load(path, name, false, false)
	return doc, errors.Is(statErr, fs.ErrNotExist), err
}

// exists reports whether a snippet of that name exists in either directory.
func (l *Library) exists(name string) bool {
	for _, dir := range []string{l.Shared, l.Shipped} {
		if dir == "" {
			continue
		}
		if _, err := os.Lstat(docPath(dir, name)); err == nil {
			return true
		}
	}
	return false
}

func checkName(name string) (string, error) {
	name = strings.TrimSuffix(name, ".md")
	if !validName(name) {
		return "", errdefs.Invalidf("doc name %q: use lower-case letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit, in up to %d folders separated by '/'", name, maxDepth)
	}
	return name, nil
}

func load(path, name string, shipped, withContent bool) (Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Doc{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return Doc{}, err
	}
	role, _, err := parse(b)
	if err != nil {
		// Unreadable front matter: only admins see it, to fix it.
		logrus.WithError(err).WithField("doc", path).Warn("doc front matter; showing it to admins only")
		role = identity.Admin
	}
	d := Doc{Name: name, Role: role, Size: st.Size(), UpdatedAt: st.ModTime().UTC(), Shipped: shipped}
	if withContent {
		d.Content = string(b)
	}
	return d, nil
}

// parse reads the front matter: a first line "---", YAML, a line "---".
// It returns the role and the body after the front matter.
func parse(b []byte) (identity.Role, []byte, error) {
	rest, ok := bytes.CutPrefix(b, []byte("---\n"))
	if !ok {
		return DefaultRole, b, nil
	}
	front, body, ok := bytes.Cut(rest, []byte("\n---\n"))
	if !ok {
		if front, ok = bytes.CutSuffix(rest, []byte("\n---")); !ok {
			return 0, nil, errors.New("front matter starts with --- but never ends with a --- line")
		}
	}
	var fm struct {
		Role string `yaml:"role"`
	}
	if err := yaml.Unmarshal(front, &fm); err != nil {
		return 0, nil, fmt.Errorf("front matter: %v", err)
	}
	if fm.Role == "" {
		return DefaultRole, body, nil
	}
	r, err := identity.ParseRole(fm.Role)
	if err != nil {
		return 0, nil, fmt.Errorf("front matter: %v (want public, newcomer, contributor, member or admin)", err)
	}
	return r, body, nil
}
