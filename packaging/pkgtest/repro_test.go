//go:build linux

package pkgtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestRepoReproducible: `make repo` in two clones of this commit, one after
// the other, in another time zone and with another umask, gives the same
// dist/repo byte for byte: the packages, the indexes, and the signatures,
// which all carry the commit's time (see packaging/mkrepo) and, made with
// an RSA key, are deterministic.
func TestRepoReproducible(t *testing.T) {
	t.Parallel()
	tool(t, "git", "git")
	tool(t, "make", "make")
	tool(t, "gpg", "gpg")
	tool(t, "apt-ftparchive", "apt-utils")
	tool(t, "createrepo_c", "createrepo-c")
	tool(t, "rpmsign", "rpm")
	root := repoRoot(t)
	work := t.TempDir()
	// Its own key: the test needs none of repos()'s packages.
	key, _, err := newKey(work, "release", "--quick-gen-key", "TeleClaude test <test@example.invalid>", "rsa3072", "sign", "1y")
	if err != nil {
		t.Fatal(err)
	}
	// Both clones check out this one commit, whatever HEAD is by the time
	// the second one is made.
	rev, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	var sums []map[string]string
	for i, env := range [][]string{{"TZ=UTC"}, {"TZ=Pacific/Auckland"}} {
		clone := filepath.Join(work, []string{"a", "b"}[i])
		if out, err := exec.Command("git", "clone", "--quiet", "--no-hardlinks", root, clone).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
		if out, err := exec.Command("git", "-C", clone, "checkout", "--quiet", strings.TrimSpace(string(rev))).CombinedOutput(); err != nil {
			t.Fatalf("git checkout: %v\n%s", err, out)
		}
		umask := []string{"022", "077"}[i]
		cmd := exec.Command("sh", "-c", "umask "+umask+" && make repo")
		cmd.Dir = clone
		cmd.Env = append(append(os.Environ(), env...), "TELECLAUDE_SIGNING_KEY="+key, "SOURCE_DATE_EPOCH=")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		// A figure for docs/BENCHMARKS.md, not a check.
		t.Logf("make repo in clone %d: %s", i+1, time.Since(start).Round(100*time.Millisecond))
		if err != nil {
			t.Fatalf("make repo in clone %d: %v\n%s", i+1, err, tail(string(out), 40))
		}
		sums = append(sums, treeSums(t, filepath.Join(clone, "dist", "repo")))
	}
	var names []string
	for n := range sums[0] {
		names = append(names, n)
	}
	for n := range sums[1] {
		if _, ok := sums[0][n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var kinds = map[string]bool{}
	for _, n := range names {
		if a, b := sums[0][n], sums[1][n]; a != b {
			t.Errorf("%s differs: %q vs %q", n, a, b)
		}
		switch {
		case strings.HasSuffix(n, ".deb"):
			kinds["deb"] = true
		case strings.HasSuffix(n, ".rpm"):
			kinds["rpm"] = true
		case strings.HasSuffix(n, "InRelease"), strings.HasSuffix(n, "repomd.xml.asc"):
			kinds[filepath.Base(n)] = true
		}
	}
	for _, k := range []string{"deb", "rpm", "InRelease", "repomd.xml.asc"} {
		if !kinds[k] {
			t.Errorf("no %s in dist/repo", k)
		}
	}
	t.Logf("%d files compared", len(names))
	for _, d := range []string{"deb", "rpm"} {
		t.Logf("size of %s/ per architecture: %s", d, archSizes(t, filepath.Join(work, "a", "dist", "repo", d)))
	}
}

func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		io.Copy(h, f)
		rel, _ := filepath.Rel(dir, p)
		m[rel] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRepoLint: lintian and rpmlint stay at 0 errors and 0 warnings on
// the packages as the repositories publish them, the .rpm signed.
func TestRepoLint(t *testing.T) {
	t.Parallel()
	lintian := tool(t, "lintian", "lintian")
	b := repos(t)
	debs, _ := filepath.Glob(filepath.Join(b.v1, "deb", "pool", "main", "t", "teleclaude", "*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(b.v1, "rpm", "*", "*.rpm"))
	if len(debs) != 2 || len(rpms) != 2 {
		t.Fatalf("want two .deb and two .rpm, have %v %v", debs, rpms)
	}
	out, err := exec.Command(lintian, append([]string{"--fail-on", "error,warning"}, debs...)...).CombinedOutput()
	t.Logf("lintian:\n%s", out)
	if err != nil || regexp.MustCompile(`(?m)^[EW]: `).Match(out) {
		t.Errorf("lintian: %v", err)
	}

	// rpmlint as TestRpmlint runs it, in a copy of the root, which has
	// imported the key as the README tells users to (rpmlint checks the
	// signature against rpm's database: "unknown-key" without it).
	root := overlay(t, debianRoot(t))
	copyInto(t, root, "root/lint", append(rpms, "../rpm/rpmlint.toml", filepath.Join(b.v1, "teleclaude.asc"))...)
	if out, err := exec.Command("chroot", root, "rpm", "--import", "/root/lint/teleclaude.asc").CombinedOutput(); err != nil {
		t.Fatalf("rpm --import in the root: %v\n%s", err, out)
	}
	shim := filepath.Join(root, "root/shim")
	os.MkdirAll(shim, 0o755)
	writeFile(t, filepath.Join(shim, "cpio"), []byte("#!/bin/sh\nexec /usr/bin/cpio --no-absolute-filenames \"$@\"\n"))
	os.Chmod(filepath.Join(shim, "cpio"), 0o755)
	args := []string{root, "env", "PATH=/root/shim:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "rpmlint", "-c", "/root/lint/rpmlint.toml"}
	for _, f := range rpms {
		args = append(args, "/root/lint/"+filepath.Base(f))
	}
	cmd := exec.Command("chroot", args...)
	cmd.Dir = "/"
	out, err = cmd.CombinedOutput()
	t.Logf("rpmlint:\n%s", out)
	if err != nil || !regexp.MustCompile(`\b2 packages and 0 specfiles checked; 0 errors, 0 warnings`).Match(out) {
		t.Errorf("rpmlint on the signed packages: %v", err)
	}
}

// archSizes sums the repository's files by the architecture in their
// names; the rest (indexes, signatures) is "metadata".
func archSizes(t *testing.T, dir string) string {
	t.Helper()
	sizes := map[string]int64{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		key := "metadata"
		for _, a := range []string{"amd64", "arm64", "x86_64", "aarch64"} {
			if strings.Contains(filepath.Base(p), a) && (strings.HasSuffix(p, ".deb") || strings.HasSuffix(p, ".rpm")) {
				key = a
			}
		}
		sizes[key] += fi.Size()
		return nil
	})
	var parts []string
	for k, v := range sizes {
		parts = append(parts, fmt.Sprintf("%s %.1f MiB (%d bytes)", k, float64(v)/(1<<20), v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
