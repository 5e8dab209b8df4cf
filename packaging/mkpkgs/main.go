// Command mkpkgs builds TeleClaude's Linux packages: the .deb and the .rpm
// for each architecture, from packaging/nfpm.yaml. `make packages` runs it
// from the repository's top directory.
//
// It builds the programs (static, CGO_ENABLED=0) into build/pkg/linux_ARCH/,
// generates their man pages and shell completions with a build for this
// machine (build/pkg/docs/), writes a one-entry changelog, and runs nfpm once
// per architecture and format. The version comes from `git describe` and is
// spelled for each format (see version.go); SOURCE_DATE_EPOCH is the commit's
// time, so the same commit gives the same packages.
//
// nfpm is run as a program, installed from the Go module proxy at the
// version below, rather than linked in as a library: as a library its ~80
// modules would join this module's graph and could raise the versions of the
// daemon's own dependencies, and goreleaser reads the same contents format,
// which a test compares with nfpm.yaml.
package main

import (
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/packaging/internal/srcdate"
)

// nfpmModule is the nfpm we run. v2.45.2 is the one goreleaser v2.15.0
// embeds (.goreleaser.yaml); later releases need modules the module proxy
// here does not serve (go.digitalxero.dev/*).
const nfpmModule = "github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"

// build is where everything is staged; nfpm.yaml names these paths.
const build = "build/pkg"

// release is the package revision: the same upstream version packaged
// again would raise it.
const release = "1"

// maintainer is nfpm.yaml's maintainer, who signs the changelog.
const maintainer = "TeleClaude maintainers <teleclaude@instrukt.ai>"

func main() {
	var (
		describe = flag.String("version", "", "version as git describe prints it, e.g. v1.2.3 or v1.2.3-4-gabc1234 (default: git describe)")
		arches   = flag.String("arch", "amd64,arm64", "architectures, comma-separated")
		formats  = flag.String("format", "deb,rpm", "package formats, comma-separated")
		out      = flag.String("out", "dist", "directory for the packages")
		nfpm     = flag.String("nfpm", "", "nfpm program (default: install "+nfpmModule+" into build/tools)")
		prepare  = flag.Bool("prepare", false, "only generate the man pages, completions and changelog (goreleaser's before hook)")
	)
	flag.Parse()
	if err := run(*describe, split(*arches), split(*formats), *out, *nfpm, *prepare); err != nil {
		fmt.Fprintln(os.Stderr, "mkpkgs:", err)
		os.Exit(1)
	}
}

func split(s string) []string {
	var r []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			r = append(r, f)
		}
	}
	return r
}

func run(describe string, arches, formats []string, out, nfpm string, prepareOnly bool) error {
	if _, err := os.Stat("packaging/nfpm.yaml"); err != nil {
		return errors.New("run me from the repository's top directory (packaging/nfpm.yaml not found)")
	}
	if len(arches) == 0 {
		return errors.New("no architecture given (-arch amd64,arm64)")
	}
	for _, a := range arches {
		if a != "amd64" && a != "arm64" {
			return fmt.Errorf("architecture %q: want amd64 or arm64", a)
		}
	}
	for _, f := range formats {
		if f != "deb" && f != "rpm" {
			return fmt.Errorf("format %q: want deb or rpm", f)
		}
	}
	if err := os.MkdirAll(build, 0o755); err != nil {
		return err
	}
	// One build at a time: a test and `make packages` share build/pkg.
	unlock, err := lock(filepath.Join(filepath.Dir(build), "pkg.lock"))
	if err != nil {
		return err
	}
	defer unlock()

	if describe == "" {
		if describe, err = gitDescribe(); err != nil {
			return err
		}
	}
	v, err := parseDescribe(describe)
	if err != nil {
		return err
	}
	epoch, err := srcdate.Epoch()
	if err != nil {
		return err
	}
	env := append(os.Environ(), srcdate.Env(epoch))

	// The docs are made by a build for this machine, which can run here.
	hostArch := runtime.GOARCH
	if err := buildPrograms(env, hostArch, v); err != nil {
		return err
	}
	if err := docs(env, filepath.Join(build, "linux_"+hostArch)); err != nil {
		return err
	}
	if prepareOnly {
		// goreleaser makes both formats from one changelog.
		return changelog(v.Deb(), v, epoch)
	}

	if nfpm == "" {
		if nfpm, err = installNfpm(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, arch := range arches {
		if arch != hostArch {
			if err := buildPrograms(env, arch, v); err != nil {
				return err
			}
		}
		for _, format := range formats {
			pv := v.Deb()
			if format == "rpm" {
				pv = v.RPM()
			}
			if err := changelog(pv, v, epoch); err != nil {
				return err
			}
			// The rpm is finished here (scriptlet dependencies) before
			// it goes to out.
			target := out
			if format == "rpm" {
				target = filepath.Join(build, "rpm_"+arch)
				if err := os.RemoveAll(target); err != nil {
					return err
				}
				if err := os.MkdirAll(target, 0o755); err != nil {
					return err
				}
			}
			cmd := exec.Command(nfpm, "package", "--config", "packaging/nfpm.yaml", "--packager", format, "--target", target+"/")
			cmd.Env = append(env, "GOARCH="+arch, "PKG_VERSION="+pv, "PKG_RELEASE="+release)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("nfpm %s %s: %w", format, arch, err)
			}
			if format == "rpm" {
				if err := finishRPM(target, out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func git(args ...string) (string, error) {
	b, err := exec.Command("git", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// gitDescribe describes HEAD from the last v* tag. With no tag yet, it
// counts commits from the start, as if v0.0.0 were the first one, so later
// builds still sort after earlier ones.
func gitDescribe() (string, error) {
	if d, err := git("describe", "--tags", "--long", "--dirty", "--match", "v[0-9]*"); err == nil {
		return d, nil
	}
	n, err := git("rev-list", "--count", "HEAD")
	if err != nil {
		return "", err
	}
	hash, err := git("rev-parse", "--short=7", "HEAD")
	if err != nil {
		return "", err
	}
	d := "v0.0.0-" + n + "-g" + hash
	if st, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
		d += "-dirty"
	}
	return d, nil
}

func buildPrograms(env []string, arch string, v version) error {
	dir := filepath.Join(build, "linux_"+arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// PIE, as Debian's and Fedora's hardening asks of every program: the
	// kernel then places the program's code at a random address too. Go
	// links it itself (CGO_ENABLED=0); the only run-time need is the
	// system's dynamic loader, which every glibc distribution has.
	cmd := exec.Command("go", "build", "-trimpath", "-buildmode=pie",
		"-ldflags", "-s -w -X github.com/instruktai/teleclaude/internal/version.Version="+v.String(),
		"-o", dir+"/", "./cmd/teleclaude", "./cmd/telec")
	cmd.Env = append(env, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build for linux/%s: %w", arch, err)
	}
	return nil
}

// docs writes the man pages (gzip -9n, as Debian wants them) and the bash,
// zsh and fish completions of both programs. The programs run without the
// TELECLAUDE_* variables of whoever builds: telec's --socket, for one, takes
// its default from the environment, and the page must not.
func docs(env []string, bin string) error {
	var clean []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TELECLAUDE_") {
			clean = append(clean, kv)
		}
	}
	env = clean
	dir := filepath.Join(build, "docs")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	raw := filepath.Join(dir, "man.raw")
	for _, sub := range []string{raw, filepath.Join(dir, "man"), filepath.Join(dir, "completions")} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
	}
	for _, prog := range []string{"teleclaude", "telec"} {
		p := filepath.Join(bin, prog)
		if _, err := output(env, p, "gen-man", raw); err != nil {
			return err
		}
		for _, shell := range []string{"bash", "zsh", "fish"} {
			script, err := output(env, p, "completion", shell)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "completions", prog+"."+shell), script, 0o644); err != nil {
				return err
			}
		}
	}
	pages, err := filepath.Glob(filepath.Join(raw, "*.1"))
	if err != nil {
		return err
	}
	for _, page := range pages {
		if err := gzipFile(page, filepath.Join(dir, "man", filepath.Base(page)+".gz")); err != nil {
			return err
		}
	}
	return os.RemoveAll(raw)
}

func output(env []string, prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(prog, args...)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", filepath.Base(prog), strings.Join(args, " "), err)
	}
	return b, nil
}

// gzipFile compresses like gzip -9n: best compression, and no name or time
// in the header, so that the result depends on the content alone.
func gzipFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		f.Close()
		return err
	}
	if _, err := io.Copy(zw, in); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// changelog writes the one-entry changelog (nfpm's chglog format) for the
// package version pv: the .deb's changelog.Debian.gz and the .rpm's
// %changelog. The history itself is git's.
func changelog(pv string, v version, epoch time.Time) error {
	entry := fmt.Sprintf(`- semver: %s-%s
  date: %s
  packager: %s
  deb: {urgency: medium, distributions: [stable]}
  changes:
    - note: "Build of %s; the changes are in git's history."
`, pv, release, epoch.Format(time.RFC3339), maintainer, v.String())
	return os.WriteFile(filepath.Join(build, "changelog.yml"), []byte(entry), 0o644)
}

// installNfpm installs the pinned nfpm into build/tools (a no-op once it is
// there and current) and returns its path.
func installNfpm() (string, error) {
	tools, err := filepath.Abs(filepath.Join(filepath.Dir(build), "tools"))
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "install", nfpmModule)
	cmd.Env = append(os.Environ(), "GOBIN="+tools, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("install %s: %w", nfpmModule, err)
	}
	return filepath.Join(tools, "nfpm"), nil
}

// finishRPM gives the one rpm nfpm wrote into dir its scriptlet
// dependencies and moves it to out.
func finishRPM(dir, out string) error {
	rpms, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
	if err != nil || len(rpms) != 1 {
		return fmt.Errorf("want one rpm in %s, have %v (%v)", dir, rpms, err)
	}
	if err := setScriptletSenses(rpms[0], scriptletRequires); err != nil {
		return err
	}
	// Copied, not renamed: out may be on another file system.
	b, err := os.ReadFile(rpms[0])
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, filepath.Base(rpms[0])), b, 0o644); err != nil {
		return err
	}
	return os.Remove(rpms[0])
}

// lock takes an exclusive lock on path and returns its release.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
