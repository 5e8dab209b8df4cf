//go:build linux

package pkgtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestRPMTags reads the .rpm's header back and holds it to Fedora's
// packaging guidelines: an SPDX licence and no Group:; scriptlet
// dependencies as the scriptlets need them (systemd for sysusers, tmpfiles
// and systemctl, shadow-utils for the fallback useradd); the user and group
// it makes provided as user() and group(); every directory it puts files
// in owned, the licence flagged %license; no preset that would enable its
// units; and digests that still verify after mkpkgs set those dependencies.
func TestRPMTags(t *testing.T) {
	rpm := tool(t, "rpm", "rpm")
	t.Parallel()
	p := packages(t)
	for _, f := range p.oldRPMs {
		q := func(format string) string {
			t.Helper()
			out, err := exec.Command(rpm, "-qp", "--qf", format, f).CombinedOutput()
			if err != nil {
				t.Fatalf("rpm -qp --qf %q: %v\n%s", format, err, out)
			}
			return string(out)
		}
		lines := func(format string) []string { return strings.Split(strings.TrimSpace(q(format)), "\n") }

		if got := q("%{LICENSE}"); got != "GPL-3.0-only" {
			t.Errorf("%s: License: %q, want GPL-3.0-only (SPDX)", f, got)
		}
		if got := q("%{GROUP}"); got != "(none)" {
			t.Errorf("%s: Group: %q, want none (Fedora deprecates it)", f, got)
		}
		requires := lines("[%{REQUIRENAME} %{REQUIREFLAGS:deptype}\n]")
		for _, want := range []string{"systemd pre,post,preun,postun", "shadow-utils pre", "tmux manual"} {
			if !slices.Contains(requires, want) {
				t.Errorf("%s: no Requires %q in %q", f, want, requires)
			}
		}
		provides := lines("[%{PROVIDENAME}\n]")
		for _, want := range []string{"user(teleclaude)", "group(teleclaude)"} {
			if !slices.Contains(provides, want) {
				t.Errorf("%s: does not provide %s: %q", f, want, provides)
			}
		}
		files := lines("[%{FILEFLAGS:fflags}:%{FILEMODES:perms}:%{FILENAMES}\n]")
		owned := map[string]bool{}
		var names []string
		for _, l := range files {
			parts := strings.SplitN(l, ":", 3)
			if len(parts) != 3 {
				t.Fatalf("%s: file line %q", f, l)
			}
			names = append(names, parts[2])
			if strings.HasPrefix(parts[1], "d") {
				owned[parts[2]] = true
			}
			if strings.Contains(parts[2], "system-preset") {
				t.Errorf("%s ships a preset, %s: Fedora leaves enabling units to the admin", f, parts[2])
			}
			if parts[2] == "/usr/share/licenses/teleclaude/LICENSE" && !strings.Contains(parts[0], "l") {
				t.Errorf("%s: LICENSE is not flagged %%license (%q)", f, parts[0])
			}
		}
		if !slices.Contains(names, "/usr/share/licenses/teleclaude/LICENSE") {
			t.Errorf("%s has no /usr/share/licenses/teleclaude/LICENSE", f)
		}
		for _, dir := range []string{"/etc/teleclaude", "/usr/share/doc/teleclaude", "/usr/share/doc/teleclaude/examples", "/usr/share/licenses/teleclaude", "/var/lib/teleclaude", "/var/log/teleclaude"} {
			if !owned[dir] {
				t.Errorf("%s does not own %s", f, dir)
			}
		}
		if out, err := exec.Command(rpm, "-Kv", "--nosignature", f).CombinedOutput(); err != nil || strings.Contains(string(out), "BAD") {
			t.Errorf("%s: digests do not verify (%v):\n%s", f, err, out)
		}
	}
}
