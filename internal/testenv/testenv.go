// Package testenv holds what tests need from the machine they run on: the
// external tools they check our output with, and root. Outside CI a missing
// tool or privilege skips the test; under CI (CI=true) it fails it, so a
// broken .ci/run cannot pass by running nothing.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// CI reports whether the tests run in CI, where nothing may be skipped.
func CI() bool { return os.Getenv("CI") == "true" }

// Tool returns the path of the program name, or ends the test when it is
// missing: a skip on a developer's machine, a failure in CI.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is missing; .ci/run should have installed it")
	}
	return p
}

// Root ends the test unless it runs as root.
func Root(t testing.TB, why string) {
	t.Helper()
	if os.Getuid() != 0 {
		missing(t, "needs root: "+why)
	}
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s (CI must run this test)", msg)
	}
	t.Skip(msg)
}

// Cksum returns the CRC that the cksum program prints for data: the
// reference that the Bom's checksums are held to.
func Cksum(t testing.TB, data []byte) uint32 {
	t.Helper()
	cmd := exec.Command(Tool(t, "cksum"))
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cksum: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		t.Fatalf("cksum printed %q", out)
	}
	n, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		t.Fatalf("cksum printed %q: %v", out, err)
	}
	return uint32(n)
}
