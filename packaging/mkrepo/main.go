// Command mkrepo makes TeleClaude's package repositories: a signed APT
// repository and a signed RPM repository, with the public key and the
// files a user installs to reach them, into one directory (dist/repo) that
// any static web server can publish. `make repo` runs it from the
// repository's top directory; docs/PACKAGING.md says how to publish.
//
// It builds the packages with packaging/mkpkgs (or takes them from -in, as
// `make release` does with goreleaser's), then:
//
//   - deb/: pool/ and dists/stable/, its indexes written by apt-ftparchive
//     (Debian's own tool), dated the commit's time, Release signed
//     here (InRelease, Release.gpg). The .deb themselves stay unsigned: apt
//     checks the archive's signature, and nothing in apt checks a .deb's.
//   - rpm/: the .rpm signed by rpmsign (rpm's own tool; the signature is an
//     RPM header signature, which rpm -K and dnf check), repodata/ written by
//     createrepo_c, repomd.xml signed here (repomd.xml.asc).
//
// The Release and repomd.xml signatures are made with ProtonMail's
// go-crypto, which reads the key, tells apart the ways it can be unusable
// (passphrase, expiry, revocation, no signing key) and signs at a given
// time. Every signature of a build, rpmsign's included (gpg with a faked
// clock), carries one time: the commit's. With an RSA or EdDSA key, whose
// signatures are deterministic, two builds of a commit are then
// byte-identical, signatures and all.
//
// The repository is built in a temporary directory beside the output and
// swapped in with one rename, so a web server never sees half of one.
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/packaging/internal/srcdate"
)

// suite is the one APT suite: the packages are static Go programs that
// need nothing of a release but systemd and tmux, so one suite serves every
// Debian and Ubuntu release, as Docker's and Tailscale's single-binary
// repositories do. "stable" is its name and codename.
const suite = "stable"

// component of the suite.
const component = "main"

// debArches and their rpm names: the repository has both or fails.
var arches = []struct{ deb, rpm string }{{"amd64", "x86_64"}, {"arm64", "aarch64"}}

// defaultURL is a placeholder that the README explains: the URL where the
// release's dist/repo is published.
const defaultURL = "https://REPO_URL.example/teleclaude"

// stampName records what a dist/repo holds, so a later build can tell.
const stampName = "BUILD"

func main() {
	var (
		in      = flag.String("in", "", "take the .deb and .rpm from this directory (one version) instead of building them")
		version = flag.String("version", "", "version for mkpkgs, as git describe prints it (default: git describe)")
		out     = flag.String("out", "dist/repo", "output directory")
		url     = flag.String("url", defaultURL, "base URL where the output directory is published (REPO_URL)")
		replace = flag.Bool("replace", false, "replace an output directory that holds another version")
		sign    = flag.String("sign", "", "only write an armored detached signature of this file to FILE.asc (SHA256SUMS)")
		check   = flag.Bool("check-key", false, "only check that the signing key can sign, and print its fingerprint")
	)
	flag.Parse()
	var err error
	if *check {
		err = checkKey()
	} else {
		err = run(*in, *version, *out, *url, *replace, *sign)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkrepo:", err)
		os.Exit(1)
	}
}

// checkKey lets `make release` stop before goreleaser's minutes when the
// key would stop it after them.
func checkKey() error {
	epoch, err := srcdate.Epoch()
	if err != nil {
		return err
	}
	s, err := loadSigner(os.Getenv("TELECLAUDE_SIGNING_KEY"), os.Getenv("TELECLAUDE_SIGNING_PASSPHRASE"), epoch, time.Now())
	if err != nil {
		return err
	}
	fmt.Printf("signing key %s, signing subkey %X\n", s.fingerprint(), s.key.PublicKey.Fingerprint)
	return nil
}

func run(in, version, out, url string, replace bool, signOnly string) error {
	epoch, err := srcdate.Epoch()
	if err != nil {
		return err
	}
	s, err := loadSigner(os.Getenv("TELECLAUDE_SIGNING_KEY"), os.Getenv("TELECLAUDE_SIGNING_PASSPHRASE"), epoch, time.Now())
	if err != nil {
		return err
	}
	if signOnly != "" {
		b, err := os.ReadFile(signOnly)
		if err != nil {
			return err
		}
		sig, err := s.detach(b)
		if err != nil {
			return err
		}
		return os.WriteFile(signOnly+".asc", sig, 0o644)
	}
	url = strings.TrimRight(url, "/")
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "file://") {
		return fmt.Errorf("REPO_URL=%q: want an http://, https:// or file:// URL", url)
	}
	for _, t := range []string{"apt-ftparchive", "createrepo_c", "rpmsign", "gpg", "dpkg-deb"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s is missing (apt-get install apt-utils createrepo-c rpm gpg dpkg-dev)", t)
		}
	}

	// The output's parent must take the temporary directory; checking
	// before the build saves its minutes.
	out = filepath.Clean(out)
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return fmt.Errorf("cannot write the repository beside %s: %w", out, err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	// An older build is refused before anything is built.
	if err := checkOld(out, "", replace); err != nil {
		return err
	}

	pkgDir := in
	if pkgDir == "" {
		pkgDir = filepath.Join(tmp, ".pkgs")
		args := []string{"run", "./packaging/mkpkgs", "-out", pkgDir}
		if version != "" {
			args = append(args, "-version", version)
		}
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), srcdate.Env(epoch))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("mkpkgs: %w", err)
		}
	}
	debs, rpms, ver, err := collect(pkgDir)
	if err != nil {
		return err
	}
	if err := checkOld(out, ver, replace); err != nil {
		return err
	}

	stage := filepath.Join(tmp, "repo")
	if err := os.Mkdir(stage, 0o755); err != nil {
		return err
	}
	if err := aptRepo(filepath.Join(stage, "deb"), debs, s, epoch); err != nil {
		return fmt.Errorf("APT repository: %w", err)
	}
	if err := rpmRepo(filepath.Join(stage, "rpm"), rpms, s, epoch); err != nil {
		return fmt.Errorf("RPM repository: %w", err)
	}
	if err := userFiles(stage, s, url); err != nil {
		return err
	}
	stamp := fmt.Sprintf("version %s\nkey %s\ndate %s\n", ver, s.fingerprint(), epoch.UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(stage, stampName), []byte(stamp), 0o644); err != nil {
		return err
	}
	if err := touchTree(stage, epoch); err != nil {
		return err
	}
	return swapIn(stage, out)
}

// checkOld refuses an existing output that holds another version (or is
// not a repository of ours at all) unless told to replace it. With ver
// empty it only checks that an existing output is ours.
func checkOld(out, ver string, replace bool) error {
	st, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", out)
	}
	b, err := os.ReadFile(filepath.Join(out, stampName))
	if err != nil {
		ents, _ := os.ReadDir(out)
		if len(ents) == 0 {
			return nil
		}
		if replace {
			return nil
		}
		return fmt.Errorf("%s exists but has no %s: not a repository mkrepo made; move it away (or pass -replace / REPO_REPLACE=1 to replace it)", out, stampName)
	}
	old := ""
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "version "); ok {
			old = v
		}
	}
	if ver == "" || old == ver || replace {
		return nil
	}
	return fmt.Errorf("%s holds the repository of version %s, and this build is %s: the two are not mixed. Publish the old one first if it is not, then replace it: make repo REPO_REPLACE=1 (mkrepo -replace)", out, old, ver)
}

// collect finds the packages: one .deb and one .rpm per architecture, all
// of one version, which it returns as the .deb spells it.
func collect(dir string) (debs, rpms map[string]string, ver string, err error) {
	debs, rpms = map[string]string{}, map[string]string{}
	versions := map[string]bool{}
	for _, a := range arches {
		for _, f := range []struct {
			pattern string
			into    map[string]string
			key     string
		}{
			{"teleclaude_*_" + a.deb + ".deb", debs, a.deb},
			{"teleclaude-*." + a.rpm + ".rpm", rpms, a.rpm},
		} {
			m, _ := filepath.Glob(filepath.Join(dir, f.pattern))
			if len(m) != 1 {
				return nil, nil, "", fmt.Errorf("want one %s in %s, found %d", f.pattern, dir, len(m))
			}
			f.into[f.key] = m[0]
		}
		v, err := exec.Command("dpkg-deb", "-f", debs[a.deb], "Version").Output()
		if err != nil {
			return nil, nil, "", fmt.Errorf("dpkg-deb -f %s: %v", debs[a.deb], err)
		}
		versions[strings.TrimSpace(string(v))] = true
		v, err = exec.Command("rpm", "-qp", "--qf", "%{VERSION}-%{RELEASE}", rpms[a.rpm]).Output()
		if err != nil {
			return nil, nil, "", fmt.Errorf("rpm -qp %s: %v", rpms[a.rpm], err)
		}
		versions["rpm "+strings.TrimSpace(string(v))] = true
	}
	var deb []string
	for v := range versions {
		if !strings.HasPrefix(v, "rpm ") {
			deb = append(deb, v)
		}
	}
	if len(deb) != 1 || len(versions) != 2 {
		var all []string
		for v := range versions {
			all = append(all, v)
		}
		sort.Strings(all)
		return nil, nil, "", fmt.Errorf("the packages in %s are of several versions (%s): one repository holds one release", dir, strings.Join(all, ", "))
	}
	return debs, rpms, deb[0], nil
}

// aptRepo writes the APT repository: pool/, the indexes and the signed
// Release.
func aptRepo(dir string, debs map[string]string, s *signer, epoch time.Time) error {
	pool := filepath.Join("pool", component, "t", "teleclaude")
	if err := os.MkdirAll(filepath.Join(dir, pool), 0o755); err != nil {
		return err
	}
	for _, a := range arches {
		if err := copyFile(debs[a.deb], filepath.Join(dir, pool, filepath.Base(debs[a.deb]))); err != nil {
			return err
		}
	}
	dists := filepath.Join("dists", suite)
	env := append(os.Environ(), srcdate.Env(epoch), "LC_ALL=C.UTF-8")
	for _, a := range arches {
		idx := filepath.Join(dir, dists, component, "binary-"+a.deb)
		if err := os.MkdirAll(idx, 0o755); err != nil {
			return err
		}
		cmd := exec.Command("apt-ftparchive", "--arch", a.deb, "packages", "pool")
		cmd.Dir, cmd.Env = dir, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		packages, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("apt-ftparchive packages: %v: %s", err, stderr.String())
		}
		if !bytes.Contains(packages, []byte("Package: teleclaude\n")) {
			return fmt.Errorf("apt-ftparchive listed no teleclaude for %s: %s", a.deb, stderr.String())
		}
		if err := os.WriteFile(filepath.Join(idx, "Packages"), packages, 0o644); err != nil {
			return err
		}
		// gzip -9n: no name, no time, so the same index gives the same file.
		if err := writeGzip(filepath.Join(idx, "Packages.gz"), packages); err != nil {
			return err
		}
	}
	var archList []string
	for _, a := range arches {
		archList = append(archList, a.deb)
	}
	// The commit's time: apt refuses a Release dated in the future, and
	// apt-ftparchive 2.6 dates it now whatever SOURCE_DATE_EPOCH says.
	date := epoch.UTC().Format("Mon, 02 Jan 2006 15:04:05 UTC")
	cmd := exec.Command("apt-ftparchive",
		"-o", "APT::FTPArchive::Release::Date="+date,
		"-o", "APT::FTPArchive::Release::Origin=TeleClaude",
		"-o", "APT::FTPArchive::Release::Label=TeleClaude",
		"-o", "APT::FTPArchive::Release::Suite="+suite,
		"-o", "APT::FTPArchive::Release::Codename="+suite,
		"-o", "APT::FTPArchive::Release::Architectures="+strings.Join(archList, " "),
		"-o", "APT::FTPArchive::Release::Components="+component,
		"-o", "APT::FTPArchive::Release::Description=TeleClaude: terminal and AI-agent sessions for every user of a shared machine",
		"release", dists)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	release, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("apt-ftparchive release: %v: %s", err, stderr.String())
	}
	if !bytes.Contains(release, []byte("\nDate: "+date+"\n")) {
		return fmt.Errorf("apt-ftparchive did not date Release %s:\n%s", date, release)
	}
	if err := os.WriteFile(filepath.Join(dir, dists, "Release"), release, 0o644); err != nil {
		return err
	}
	detached, err := s.detach(release)
	if err != nil {
		return fmt.Errorf("sign Release: %w", err)
	}
	inline, err := s.clearsign(release)
	if err != nil {
		return fmt.Errorf("sign InRelease: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, dists, "Release.gpg"), detached, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, dists, "InRelease"), inline, 0o644)
}

// rpmRepo writes the RPM repository: the signed .rpm per architecture,
// repodata/ and its signature.
func rpmRepo(dir string, rpms map[string]string, s *signer, epoch time.Time) error {
	var files []string
	for _, a := range arches {
		d := filepath.Join(dir, a.rpm)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		f := filepath.Join(d, filepath.Base(rpms[a.rpm]))
		if err := copyFile(rpms[a.rpm], f); err != nil {
			return err
		}
		files = append(files, f)
	}
	if err := rpmSign(files, s); err != nil {
		return err
	}
	// createrepo_c records each file's mtime; the commit's keeps them equal.
	for _, f := range files {
		if err := os.Chtimes(f, epoch, epoch); err != nil {
			return err
		}
	}
	rev := strconv.FormatInt(epoch.Unix(), 10)
	cmd := exec.Command("createrepo_c", "--quiet", "--no-database", "--revision", rev, "--set-timestamp-to-revision",
		"--workers", "1", dir)
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &outb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("createrepo_c: %v: %s", err, outb.String())
	}
	repomd, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		return err
	}
	sig, err := s.detach(repomd)
	if err != nil {
		return fmt.Errorf("sign repomd.xml: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml.asc"), sig, 0o644)
}

// rpmSign adds an RPM header signature to each file with rpmsign, through
// a gpg of its own (a throwaway GNUPGHOME holding the unlocked key) whose
// clock says the build's signing time.
func rpmSign(files []string, s *signer) error {
	home, err := os.MkdirTemp("", "mkrepo-gnupg-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := append(os.Environ(), "GNUPGHOME="+home, "LC_ALL=C.UTF-8")
	// The agent gpg starts for this home ends with it.
	defer func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = env
		cmd.Run()
	}()
	var key bytes.Buffer
	if err := s.exportSecret(&key); err != nil {
		return err
	}
	imp := exec.Command("gpg", "--batch", "--quiet", "--import")
	imp.Env, imp.Stdin = env, &key
	if b, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("gpg --import of the signing key: %v: %s", err, b)
	}
	// The trailing ! freezes gpg's clock at that time.
	faked := strconv.FormatInt(s.at.Unix(), 10) + "!"
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		return err
	}
	args := []string{
		"--define", "__gpg " + gpg, // Debian's rpm looks for gpg2
		"--define", "_gpg_name " + fmt.Sprintf("%X", s.key.PublicKey.Fingerprint) + "!",
		"--define", "_gpg_path " + home,
		"--define", "_gpg_digest_algo sha256",
		"--define", "_gpg_sign_cmd_extra_args --faked-system-time " + faked + " --pinentry-mode loopback --passphrase '' --no-auto-check-trustdb",
		"--addsign",
	}
	cmd := exec.Command("rpmsign", append(args, files...)...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rpmsign: %v: %s", err, b)
	}
	return nil
}

// userFiles writes the public key and the files users install.
func userFiles(dir string, s *signer, url string) error {
	bin, arm, err := s.publicKeys()
	if err != nil {
		return err
	}
	sources := fmt.Sprintf(`# TeleClaude's APT repository (deb822). Install as
# /etc/apt/sources.list.d/teleclaude.sources, with the key as
# /usr/share/keyrings/teleclaude-archive-keyring.gpg.
# Key fingerprint: %s
Types: deb
URIs: %s/deb
Suites: %s
Components: %s
Signed-By: /usr/share/keyrings/teleclaude-archive-keyring.gpg
`, s.fingerprint(), url, suite, component)
	repo := fmt.Sprintf(`# TeleClaude's RPM repository. Install as /etc/yum.repos.d/teleclaude.repo,
# with the key as /etc/pki/rpm-gpg/RPM-GPG-KEY-teleclaude.
# Key fingerprint: %s
[teleclaude]
name=TeleClaude
baseurl=%s/rpm
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-teleclaude
`, s.fingerprint(), url)
	for name, b := range map[string][]byte{
		"teleclaude-archive-keyring.gpg": bin,
		"teleclaude.asc":                 arm,
		"teleclaude.sources":             []byte(sources),
		"teleclaude.repo":                []byte(repo),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeGzip(path string, b []byte) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// touchTree dates every file the commit's time, so that a copy or an
// archive of the repository is the same too.
func touchTree(dir string, t time.Time) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, t, t)
	})
}
