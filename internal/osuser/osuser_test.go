package osuser

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestLookupRoot(t *testing.T) {
	u, err := LookupID(0)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "root" || u.UID != 0 || u.GID != 0 {
		t.Errorf("LookupID(0) = %+v", u)
	}
	if runtime.GOOS == "linux" && LoginShell(u) == "" {
		t.Error("root's shell not read from /etc/passwd")
	}
	byName, err := Lookup("root")
	if err != nil || byName != u {
		t.Errorf("Lookup(root) = %+v, %v; want %+v", byName, err, u)
	}
}

func TestUnknown(t *testing.T) {
	for _, f := range []func() error{
		func() error { _, err := LookupID(2_000_000_123); return err },
		func() error { _, err := Lookup("tc-no-such-account"); return err },
		func() error { _, err := Lookup("-x"); return err },
		func() error { _, err := Lookup("a:b"); return err },
	} {
		if err := f(); !errors.Is(err, ErrUnknown) {
			t.Errorf("lookup = %v, want ErrUnknown", err)
		}
	}
	if got := UserName(2_000_000_123); got != "2000000123" {
		t.Errorf("UserName of nobody's uid = %q", got)
	}
}

// TestGroupIDsAsLoginSetsThem: the list is the one id(1) gives, which asks
// NSS as login does.
func TestGroupIDsAsLoginSetsThem(t *testing.T) {
	me, err := LookupID(os.Getuid())
	if err != nil {
		t.Skipf("this uid has no account: %v", err)
	}
	got, err := GroupIDs(me)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("id", "-G", me.Name).Output()
	if err != nil {
		t.Skipf("id -G: %v", err)
	}
	var want []int
	for _, f := range strings.Fields(string(out)) {
		n, _ := strconv.Atoi(f)
		want = append(want, n)
	}
	if got[0] != me.GID {
		t.Errorf("GroupIDs(%s) = %v: the primary group %d is not first", me.Name, got, me.GID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("GroupIDs(%s) = %v, id -G says %v", me.Name, got, want)
	}
	if GroupName(0) != "root" && runtime.GOOS == "linux" {
		t.Errorf("GroupName(0) = %q", GroupName(0))
	}
}

func TestParsePasswd(t *testing.T) {
	u, err := parsePasswd("carol:*:70001:70001:Carol,,,:/home/carol:/bin/zsh")
	if err != nil || u != (User{Name: "carol", UID: 70001, GID: 70001, Home: "/home/carol", Shell: "/bin/zsh"}) {
		t.Errorf("parsePasswd = %+v, %v", u, err)
	}
	for _, bad := range []string{"", "carol:*:70001", "carol:*:x:1:g:/h:/s", "carol:*:1:-2:g:/h:/s", ":*:1:1:g:/h:/s", "a:b:1:1:g:/h:/s:extra"} {
		if _, err := parsePasswd(bad); err == nil {
			t.Errorf("parsePasswd(%q) accepted", bad)
		}
	}
}

func TestParseInitgroups(t *testing.T) {
	if g, err := parseInitgroups([]byte("carol           70001 27 995\n"), "carol"); err != nil || !slices.Equal(g, []int{70001, 27, 995}) {
		t.Errorf("parseInitgroups = %v, %v", g, err)
	}
	if g, err := parseInitgroups([]byte("carol\n"), "carol"); err != nil || len(g) != 0 {
		t.Errorf("no groups = %v, %v", g, err)
	}
	for _, bad := range []string{"", "dave 1 2", "carol 1 x", "carol -1"} {
		if _, err := parseInitgroups([]byte(bad), "carol"); err == nil {
			t.Errorf("parseInitgroups(%q) accepted", bad)
		}
	}
}

func TestPasswdShell(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/bash\nal:x:1001:1001::/home/al:/usr/bin/zsh\nbroken\n"), 0o644)
	if got := passwdShell(p, 1001); got != "/usr/bin/zsh" {
		t.Errorf("passwdShell(1001) = %q", got)
	}
	if got := passwdShell(p, 7); got != "" {
		t.Errorf("passwdShell(7) = %q, want none", got)
	}
}

// BenchmarkLookupID: an account in /etc/passwd is read there; one the
// files do not know costs a getent run (NSS) unless the answer is kept.
func BenchmarkLookupID(b *testing.B) {
	// The last account in /etc/passwd: the files are read to their end.
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		b.Skip(err)
	}
	var last User
	for _, line := range strings.Split(string(passwd), "\n") {
		if u, err := parsePasswd(line); err == nil {
			last = u
		}
	}
	b.Run("files", func(b *testing.B) {
		for b.Loop() {
			if _, err := LookupID(last.UID); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A uid nobody has: the files are read, then getent runs to its "no
	// such account". The cache is emptied each time, so every lookup pays
	// the run, as a directory user's first one in a minute does.
	b.Run("nss", func(b *testing.B) {
		for b.Loop() {
			nssCache.Lock()
			clear(nssCache.m)
			nssCache.Unlock()
			LookupID(2_000_000_123)
		}
	})
	b.Run("nss-kept", func(b *testing.B) {
		for b.Loop() {
			LookupID(2_000_000_123)
		}
	})
}
