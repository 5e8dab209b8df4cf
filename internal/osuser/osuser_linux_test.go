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
// asked, and against the files; what it found is kept, and outlives a
// directory that stops answering. A real getent never answers for another
// account; a broken NSS module or a badly kept directory might, and that
// must not name a uid as someone else. (The real
// getent with a real directory source is tested in packaging/pkgtest,
// which installs libnss-extrausers in a booted Debian.)
func TestNSSAnswersChecked(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "getent")
	script := `#!/bin/sh
echo "$1 $3" >>"$0.calls"
case "$1 $3" in
"passwd 2000000001") echo "mallory:x:2000000002:100::/home/m:/bin/sh" ;;
"passwd 2000000003") echo "garbage" ;;
"passwd tc-dir-user") echo "tc-dir-user:x:2000000004:2000000004::/home/d:/bin/zsh" ;;
"passwd 2000000004") echo "tc-dir-user:x:2000000004:2000000004::/home/d:/bin/zsh" ;;
"initgroups tc-dir-user") echo "tc-dir-user 27 2000000005" ;;
"passwd 2000000006") exec sleep 30 ;;
"passwd 2000000008") echo "root:x:2000000008:100::/root:/bin/sh" ;;
"passwd 2000000009") echo "twin:x:2000000009:100::/home/t:/bin/sh" ;;
"passwd twin") echo "twin:x:2000000010:100::/home/t2:/bin/sh" ;;
"initgroups root") exec sleep 30 ;;
*) exit 2 ;;
esac
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	oldPaths := getentPaths
	getentPaths = []string{fake}
	clear(nssCache.m)
	t.Cleanup(func() { getentPaths = oldPaths; clear(nssCache.m) })

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
	if !u.Directory {
		t.Error("an account only NSS knows is not marked Directory")
	}
	byID, err := LookupID(2_000_000_004)
	if err != nil || byID != u {
		t.Errorf("LookupID of a directory user = %+v, %v; want %+v", byID, err, u)
	}
	// Found once, kept for a while: the next connection costs no getent,
	// and a uid and a name that look alike are kept apart.
	getentPaths = []string{filepath.Join(dir, "gone")}
	if again, err := Lookup("tc-dir-user"); err != nil || again != u {
		t.Errorf("a directory user looked up again = %+v, %v; want the kept %+v", again, err, u)
	}
	if again, err := LookupID(2_000_000_004); err != nil || again != u {
		t.Errorf("a directory uid looked up again = %+v, %v; want the kept %+v", again, err, u)
	}
	getentPaths = []string{fake}

	// A directory name must lead back to its uid: not a local account's
	// name (root is uid 0 in the files), not a name the directory gives
	// another uid.
	if _, err := LookupID(2_000_000_008); err == nil || !strings.Contains(err.Error(), "but root is uid 0") {
		t.Errorf("a directory uid named like a local account = %v, want a refusal", err)
	}
	if _, err := LookupID(2_000_000_009); err == nil || !strings.Contains(err.Error(), "twin is uid 2000000010") {
		t.Errorf("a directory uid whose name belongs to another = %v, want a refusal", err)
	}

	// A local account keeps its groups of the files while the directory
	// does not answer.
	old := nssTimeout
	nssTimeout = 100 * time.Millisecond
	root, err := Lookup("root")
	if err != nil || root.Directory {
		t.Fatalf("Lookup(root) = %+v, %v", root, err)
	}
	if g, err := GroupIDs(root); err != nil || g[0] != 0 {
		t.Errorf("GroupIDs(root) with the directory down = %v, %v; want the files' groups", g, err)
	}
	nssTimeout = old

	// "No such account" is kept for a moment: a stranger's connections do
	// not each cost a getent run.
	calls := func() int {
		b, _ := os.ReadFile(fake + ".calls")
		return strings.Count(string(b), "\n")
	}
	before := calls()
	LookupID(2_000_000_011)
	LookupID(2_000_000_011)
	if n := calls() - before; n != 1 {
		t.Errorf("an unknown uid looked up twice ran getent %d times, want 1", n)
	}
	if _, err := LookupID(2_000_000_007); !errors.Is(err, ErrUnknown) {
		t.Errorf("getent exit 2 = %v, want ErrUnknown", err)
	}
	// A directory that never answers is an error, not a hang; an account
	// it named before stands meanwhile.
	nssTimeout = 100 * time.Millisecond
	t.Cleanup(func() { nssTimeout = old })
	if _, err := LookupID(2_000_000_006); err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("a getent that hangs = %v", err)
	}
	nssCache.Lock()
	c := nssCache.m["name:tc-dir-user"]
	c.at = time.Now().Add(-2 * nssCacheTTL)
	nssCache.m["name:tc-dir-user"] = c
	nssCache.Unlock()
	getentPaths = []string{filepath.Join(dir, "hangs")}
	os.WriteFile(getentPaths[0], []byte("#!/bin/sh\nexec sleep 30\n"), 0o755)
	if again, err := Lookup("tc-dir-user"); err != nil || again != u {
		t.Errorf("a directory user while the directory hangs = %+v, %v; want the one it named before", again, err)
	}
}

// TestLookupGroupDirectory: a group only the directory knows (the socket's
// group may be one) is found through getent, and its answer is checked.
func TestLookupGroupDirectory(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "getent")
	script := `#!/bin/sh
case "$1 $3" in
"group tc-dir-group") echo "tc-dir-group:*:2000000020:alice" ;;
"group tc-liar") echo "root:x:0:" ;;
*) exit 2 ;;
esac
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	oldPaths := getentPaths
	getentPaths = []string{fake}
	t.Cleanup(func() { getentPaths = oldPaths })
	if gid, err := LookupGroup("tc-dir-group"); err != nil || gid != 2_000_000_020 {
		t.Errorf("LookupGroup of a directory group = %d, %v", gid, err)
	}
	if _, err := LookupGroup("tc-liar"); err == nil || !strings.Contains(err.Error(), "getent answered") {
		t.Errorf("an answer for another group = %v", err)
	}
	if _, err := LookupGroup("tc-no-such-group"); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown group = %v, want ErrUnknown", err)
	}
	if gid, err := LookupGroup("root"); err != nil || gid != 0 {
		t.Errorf("LookupGroup(root) = %d, %v", gid, err)
	}
}
