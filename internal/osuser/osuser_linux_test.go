package osuser

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNSSAnswersChecked: what getent says is checked against what was
// asked. A real getent never answers for another account; a broken NSS
// module might, and that must not name a uid as someone else. (The real
// getent with a real directory source is tested in packaging/pkgtest,
// which installs libnss-extrausers in a booted Debian.)
func TestNSSAnswersChecked(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "getent")
	script := `#!/bin/sh
case "$1 $3" in
"passwd 2000000001") echo "mallory:x:2000000002:100::/home/m:/bin/sh" ;;
"passwd 2000000003") echo "garbage" ;;
"passwd tc-dir-user") echo "tc-dir-user:x:2000000004:2000000004::/home/d:/bin/zsh" ;;
"initgroups tc-dir-user") echo "tc-dir-user 27 2000000005" ;;
"passwd 2000000006") sleep 30 ;;
*) exit 2 ;;
esac
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	old := getentPaths
	getentPaths = []string{fake}
	clear(nssCache.m)
	t.Cleanup(func() { getentPaths = old; clear(nssCache.m) })

	if _, err := LookupID(2_000_000_001); err == nil || !strings.Contains(err.Error(), "another account") {
		t.Errorf("an answer for another uid = %v", err)
	}
	if _, err := LookupID(2_000_000_003); err == nil || !strings.Contains(err.Error(), "not a passwd entry") {
		t.Errorf("a garbage answer = %v", err)
	}
	u, err := Lookup("tc-dir-user")
	if err != nil || u.UID != 2_000_000_004 || u.Shell != "/bin/zsh" {
		t.Fatalf("Lookup of a directory user = %+v, %v", u, err)
	}
	if g, err := GroupIDs(u); err != nil || !slices.Equal(g, []int{2_000_000_004, 27, 2_000_000_005}) {
		t.Errorf("GroupIDs of a directory user = %v, %v", g, err)
	}
	// Found once, kept for a while: the next connection costs no getent.
	getentPaths = []string{filepath.Join(dir, "gone")}
	if again, err := Lookup("tc-dir-user"); err != nil || again != u {
		t.Errorf("a directory user looked up again = %+v, %v; want the kept %+v", again, err, u)
	}
	getentPaths = []string{fake}
	if _, err := LookupID(2_000_000_007); !errors.Is(err, ErrUnknown) {
		t.Errorf("getent exit 2 = %v, want ErrUnknown", err)
	}
	// A directory that never answers is an error, not a hang.
	oldTimeout := nssTimeout
	nssTimeout = 100 * time.Millisecond
	t.Cleanup(func() { nssTimeout = oldTimeout })
	if _, err := LookupID(2_000_000_006); err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("a getent that hangs = %v", err)
	}
}
