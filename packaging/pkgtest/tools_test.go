package pkgtest

import (
	"os"
	"os/exec"
	"testing"
)

// tool finds a program a test needs: missing, the test skips, except under
// CI, where .ci/run installs it and its absence is a failure.
func tool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (Debian package %s); .ci/run should have installed it", name, debianPackage)
		}
		t.Skipf("no %s (apt-get install %s)", name, debianPackage)
	}
	return p
}
