package docs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/instruktai/teleclaude/internal/identity"
)

func names(ds []Doc) string {
	var n []string
	for _, d := range ds {
		n = append(n, d.Name)
	}
	return strings.Join(n, ",")
}

func TestRolesAndOverride(t *testing.T) {
	shipped, shared := t.TempDir(), t.TempDir()
	write := func(dir, name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(shipped, "welcome.md", "---\nrole: public\n---\n# Welcome\n")
	write(shipped, "rules.md", "# No front matter: members\n")
	write(shipped, "ops.md", "---\nrole: admin\n---\nroot passwords are elsewhere\n")
	write(shared, "rules.md", "---\nrole: newcomer\n---\n# House rules, edited\n")
	write(shared, "broken.md", "---\nrole: wizard\n---\nx\n")
	write(shared, "notes.txt", "not markdown")
	write(shared, "Bad Name.md", "ignored")

	lib := &Library{Shipped: shipped, Shared: shared}
	tests := []struct {
		role identity.Role
		want string
	}{
		{identity.Public, "welcome"},
		{identity.Newcomer, "rules,welcome"},
		{identity.Member, "rules,welcome"},
		{identity.Admin, "broken,ops,rules,welcome"},
	}
	for _, tt := range tests {
		t.Run(tt.role.String(), func(t *testing.T) {
			got, err := lib.List(tt.role)
			if err != nil || names(got) != tt.want {
				t.Errorf("List(%s) = %s, %v; want %s", tt.role, names(got), err, tt.want)
			}
		})
	}
	d, err := lib.Get(identity.Newcomer, "rules")
	if err != nil || d.Shipped || !strings.Contains(d.Content, "edited") {
		t.Errorf("Get(rules) = %+v, %v; want the runtime override", d, err)
	}
	if _, err := lib.Get(identity.Member, "ops"); err == nil {
		t.Error("a member read an admin doc")
	} else if k, _ := errdefs.KindOf(err); k != errdefs.NotFound {
		t.Errorf("Get above one's role: kind %v, want NotFound", k)
	}
	if d, err := lib.Get(identity.Admin, "ops.md"); err != nil || d.Role != identity.Admin {
		t.Errorf("Get(ops.md) as admin = %+v, %v", d, err)
	}
}

func TestPut(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	lib := &Library{Shared: shared}
	d, created, err := lib.Put(context.Background(), identity.Member, "p", "howto", []byte("---\nrole: contributor\n---\nhow to\n"))
	if err != nil || !created || d.Role != identity.Contributor {
		t.Fatalf("Put = %+v, %v, %v", d, created, err)
	}
	if _, created, _ := lib.Put(context.Background(), identity.Member, "p", "howto.md", []byte("v2\n")); created {
		t.Error("replacing reported created")
	}
	if d, _ := lib.Get(identity.Member, "howto"); d.Content != "v2\n" || d.Role != identity.Member {
		t.Errorf("after replace: %+v", d)
	}
	st, _ := os.Stat(filepath.Join(shared, "howto.md"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (only the daemon reads docs; roles decide who gets them)", st.Mode())
	}
	bad := []struct {
		name, content, want string
	}{
		{"../etc/passwd", "x", "doc name"},
		{"UPPER", "x", "doc name"},
		// A name that reads as something it is not, in every list.
		{"fix\u202egnp.md", "x", "doc name"},
		{"zero\u200bwidth", "x", "doc name"},
		{"caf\u00e9", "x", "doc name"},
		{"", "x", "doc name"},
		{"r", "---\nrole: wizard\n---\n", "unknown role"},
		{"r", "---\nrole: [\n---\n", "front matter"},
		{"r", "---\nno end\n", "never ends"},
		{"r", "a\x00b", "not UTF-8"},
		{"r", "\xff\xfe", "not UTF-8"},
		{"r", "# hi\n\x1b]52;c;aWQgPiAvdG1wL3B3bmVk\x07\x1b[2J", "control character U+001B at byte 5"},
		{"r", "c1 \u009b2J", "control character U+009B"},
		{"r", strings.Repeat("x", MaxSize+1), "at most"},
	}
	for _, b := range bad {
		_, _, err := lib.Put(context.Background(), identity.Admin, "p", b.name, []byte(b.content))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Put(%q) = %v, want an error containing %q", b.name, err, b.want)
		}
		if k, _ := errdefs.KindOf(err); k != errdefs.Invalid {
			t.Errorf("Put(%q): kind %v, want Invalid", b.name, k)
		}
	}
	entries, _ := os.ReadDir(shared)
	if len(entries) != 1 {
		t.Errorf("shared dir holds %d entries after refused puts, want 1 (no temp files)", len(entries))
	}
}

// TestPutCannotReplaceUnseen: a member may not overwrite what only admins
// may read; an admin may.
func TestPutCannotReplaceUnseen(t *testing.T) {
	lib := &Library{Shared: t.TempDir()}
	if _, _, err := lib.Put(context.Background(), identity.Admin, "p", "ops", []byte("---\nrole: admin\n---\nsecret runbook\n")); err != nil {
		t.Fatal(err)
	}
	_, _, err := lib.Put(context.Background(), identity.Member, "p", "ops", []byte("defaced\n"))
	if k, _ := errdefs.KindOf(err); k != errdefs.Forbidden {
		t.Errorf("member replacing an admin doc: %v, want Forbidden", err)
	}
	if d, _ := lib.Get(identity.Admin, "ops"); !strings.Contains(d.Content, "secret runbook") {
		t.Errorf("the admin doc changed: %q", d.Content)
	}
	if _, _, err := lib.Put(context.Background(), identity.Admin, "p", "ops", []byte("---\nrole: admin\n---\nv2\n")); err != nil {
		t.Errorf("admin replacing their doc: %v", err)
	}
}

// TestNested: snippets in nested folders (as upstream keeps them) are
// listed, read and written by their relative path; a path that climbs
// out is refused.
func TestNested(t *testing.T) {
	shipped, shared := t.TempDir(), t.TempDir()
	write := func(dir, rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(shipped, "global/baseline.md", "base\n")
	write(shared, "global/general/policy/a.md", "---\nrole: admin\n---\nadmins\n")
	write(shared, "project/design/arch.md", "arch\n")
	lib := &Library{Shipped: shipped, Shared: shared}
	ds, err := lib.List(identity.Admin)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, ","); got != "global/baseline,global/general/policy/a,project/design/arch" {
		t.Errorf("List = %s", got)
	}
	if ds, _ := lib.List(identity.Member); len(ds) != 2 {
		t.Errorf("a member sees %d docs; want 2 (the admin one hidden)", len(ds))
	}
	if d, err := lib.Get(identity.Member, "project/design/arch"); err != nil || d.Content != "arch\n" {
		t.Errorf("Get nested = %+v, %v", d, err)
	}
	if _, created, err := lib.Put(context.Background(), identity.Member, "p", "runbooks/deploy/steps", []byte("steps\n")); err != nil || !created {
		t.Fatalf("Put nested: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(shared, "runbooks", "deploy", "steps.md")); err != nil || string(b) != "steps\n" {
		t.Errorf("nested put wrote %q, %v", b, err)
	}
	for _, bad := range []string{"global/../../etc/passwd", "/abs", "a//b", "a/", strings.Repeat("a/", 9) + "a"} {
		if _, err := lib.Get(identity.Admin, bad); err == nil {
			t.Errorf("Get(%q) succeeded", bad)
		} else if k, _ := errdefs.KindOf(err); k != errdefs.Invalid {
			t.Errorf("Get(%q): %v; want Invalid", bad, err)
		}
	}
}

// TestPutClaimRefused: a doc its writer's quota refuses is never written,
// and the refusal reaches the caller as it is; a new doc and a replaced
// one are claimed for the writer, at their size.
func TestPutClaimRefused(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	type claim struct {
		person, name string
		size         int64
	}
	var claims []claim
	lib := &Library{Shared: shared, Claim: func(_ context.Context, person, name string, size int64) error {
		if size > 10 {
			return errdefs.Quotaf("over quota")
		}
		claims = append(claims, claim{person, name, size})
		return nil
	}}
	ctx := context.Background()
	if _, _, err := lib.Put(ctx, identity.Member, "alice", "a", []byte("small\n")); err != nil {
		t.Fatal(err)
	}
	_, _, err := lib.Put(ctx, identity.Member, "alice", "b", []byte("far too long for the quota\n"))
	if k, _ := errdefs.KindOf(err); k != errdefs.Quota {
		t.Fatalf("Put over quota: %v; want a Quota error", err)
	}
	if _, err := lib.Get(identity.Admin, "b"); err == nil {
		t.Error("the refused doc was written")
	}
	_, _, err = lib.Put(ctx, identity.Member, "alice", "a", []byte("longer than ten\n"))
	if k, _ := errdefs.KindOf(err); k != errdefs.Quota {
		t.Fatalf("replacing over quota: %v; want a Quota error", err)
	}
	if d, _ := lib.Get(identity.Member, "a"); d.Content != "small\n" {
		t.Errorf("a refused replacement changed the doc to %q", d.Content)
	}
	if len(claims) != 1 || claims[0] != (claim{"alice", "a", 6}) {
		t.Errorf("claims %+v; want alice's a of 6 bytes", claims)
	}
	entries, _ := os.ReadDir(shared)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".put-") {
			t.Errorf("a refused put left %s", e.Name())
		}
	}
}
