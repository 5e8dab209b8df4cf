package pkg

import (
	"bytes"
	"crypto/x509"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/macpkg/macpkgtest"
	"github.com/instruktai/teleclaude/internal/testenv"
	"github.com/instruktai/teleclaude/internal/xar"
	"github.com/instruktai/teleclaude/internal/xar/xartest"
	"gopkg.in/yaml.v3"
	"howett.net/plist"
)

// darwinSystem is the layout the daemon resolves on macOS in system mode.
func darwinSystem(t *testing.T) layout.Paths {
	t.Helper()
	p, err := layout.Resolve(layout.Host{GOOS: "darwin", UID: 350, Username: "_teleclaude",
		Getenv: func(string) string { return "" }, Exists: func(string) bool { return false }}, layout.System)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLaunchDaemonPlist parses the plist as launchd would read it and checks
// the configuration keys against the paths the daemon and the package use.
func TestLaunchDaemonPlist(t *testing.T) {
	data, err := files.ReadFile(Identifier + ".plist")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	format, err := plist.Unmarshal(data, &all)
	if err != nil || format != plist.XMLFormat {
		t.Fatalf("plist: format %d, %v", format, err)
	}
	known := []string{"Label", "ProgramArguments", "UserName", "GroupName", "EnvironmentVariables", "RunAtLoad", "KeepAlive",
		"ThrottleInterval", "Umask", "StandardOutPath", "StandardErrorPath"}
	for k := range all {
		if !slices.Contains(known, k) {
			t.Errorf("unexpected key %q (a typo launchd would ignore?)", k)
		}
	}
	var job struct {
		Label                string
		ProgramArguments     []string
		UserName, GroupName  string
		EnvironmentVariables map[string]string
		RunAtLoad            bool
		KeepAlive            map[string]bool
		ThrottleInterval     int
		Umask                int
		StandardOutPath      string
		StandardErrorPath    string
	}
	if _, err := plist.Unmarshal(data, &job); err != nil {
		t.Fatalf("plist keys of the wrong type: %v", err)
	}
	paths := darwinSystem(t)
	// A config error exits 0, which KeepAlive leaves alone; a crash or a
	// failure is restarted, at most every 30 s.
	want := []string{"/" + Base + "/bin/teleclaude", "serve", "--config-error-exit", "0"}
	keepAlive := map[string]bool{"SuccessfulExit": false, "Crashed": true}
	if job.Label != Identifier || !slices.Equal(job.ProgramArguments, want) || job.UserName != layout.ServiceUser("darwin") ||
		job.GroupName != "_teleclaude" || !job.RunAtLoad || !maps.Equal(job.KeepAlive, keepAlive) || job.ThrottleInterval < 30 || job.Umask != 0o027 {
		t.Errorf("job = %+v\nwant label %s, program %q, user and group _teleclaude, RunAtLoad, KeepAlive %v, ThrottleInterval >= 30, umask 027", job, Identifier, want, keepAlive)
	}
	if v := job.EnvironmentVariables[layout.EnvSystemMode]; v != "1" || len(job.EnvironmentVariables) != 1 {
		t.Errorf("environment = %v, want only %s=1", job.EnvironmentVariables, layout.EnvSystemMode)
	}
	for _, p := range []string{job.StandardOutPath, job.StandardErrorPath} {
		if filepath.Dir(p) != paths.LogDir {
			t.Errorf("log file %s is not in the daemon's log directory %s", p, paths.LogDir)
		}
	}
	if paths.ConfigFile != "/"+Base+"/config.yml" || filepath.Dir(paths.DataDir) != "/"+Base {
		t.Errorf("the daemon's system paths (%s, %s) are not under the package's %s", paths.ConfigFile, paths.DataDir, Base)
	}
}

func TestShellcheck(t *testing.T) {
	shellcheck := testenv.Tool(t, "shellcheck")
	cmd := exec.Command(shellcheck, "-x", "-s", "sh", "preinstall", "postinstall", "uninstall", "common.sh", "verify-on-mac.sh", "notarize.sh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestPackageContents takes a built package apart with bsdtar: the checksums
// verify, the Payload and Scripts hold exactly the intended files with their
// modes and owners, and the Bom matches the Payload.
func TestPackageContents(t *testing.T) {
	tc, telec := []byte("\xcf\xfa\xed\xfe teleclaude"), []byte("\xcf\xfa\xed\xfe telec")
	var buf bytes.Buffer
	err := Build(&buf, Options{Version: "v1.2.3", Teleclaude: tc, Telec: telec, ModTime: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), FileName("v1.2.3"))
	if filepath.Base(file) != "teleclaude_1.2.3_darwin_universal.pkg" {
		t.Errorf("file name %s", filepath.Base(file))
	}
	os.WriteFile(file, buf.Bytes(), 0o644)
	c := macpkgtest.Open(t, file)

	read := func(name string) []byte { b, _ := files.ReadFile(name); return b }
	type item struct {
		name     string
		mode     uint32
		uid, gid int
		data     []byte
	}
	check := func(what string, got []macpkgtest.Item, want []item) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s has %d entries, want %d: %+v", what, len(got), len(want), got)
		}
		for i := range min(len(got), len(want)) {
			g, w := got[i], want[i]
			if g.Name != w.name || g.Mode != w.mode || g.UID != w.uid || g.GID != w.gid || !bytes.Equal(g.Data, w.data) {
				t.Errorf("%s entry %d = %s %o %d:%d (%d bytes), want %s %o %d:%d (%d bytes)", what, i,
					g.Name, g.Mode, g.UID, g.GID, len(g.Data), w.name, w.mode, w.uid, w.gid, len(w.data))
			}
		}
	}
	b := "./" + Base
	check("Payload", c.Payload, []item{
		{".", 0o40755, 0, 0, nil},
		{"./Library", 0o40755, 0, 0, nil},
		{"./Library/Application Support", 0o40755, 0, 80, nil},
		{b, 0o40755, 0, 0, nil},
		{b + "/bin", 0o40755, 0, 0, nil},
		{b + "/bin/telec", 0o100755, 0, 0, telec},
		{b + "/bin/teleclaude", 0o100755, 0, 0, tc},
		{b + "/config.example.yml", 0o100644, 0, 0, read("config.example.yml")},
		{b + "/uninstall", 0o100755, 0, 0, read("uninstall")},
		{"./Library/LaunchDaemons", 0o40755, 0, 0, nil},
		{"./Library/LaunchDaemons/" + Identifier + ".plist", 0o100644, 0, 0, read(Identifier + ".plist")},
		{"./private", 0o40755, 0, 0, nil},
		{"./private/etc", 0o40755, 0, 0, nil},
		{"./private/etc/newsyslog.d", 0o40755, 0, 0, nil},
		{"./private/etc/newsyslog.d/teleclaude.conf", 0o100644, 0, 0, read("newsyslog.conf")},
	})
	check("Scripts", c.Scripts, []item{
		{".", 0o40755, 0, 0, nil},
		{"./common.sh", 0o100644, 0, 0, read("common.sh")},
		{"./postinstall", 0o100755, 0, 0, read("postinstall")},
		{"./preinstall", 0o100755, 0, 0, read("preinstall")},
	})
	c.CheckBom(t)

	if c.Component != "teleclaude.pkg" || c.Info.Identifier != Identifier || c.Info.Version != "1.2.3" || c.Info.InstallLocation != "/" ||
		c.Info.Scripts.Preinstall == nil || c.Info.Scripts.Postinstall == nil || c.Info.Payload.NumberOfFiles != 15 {
		t.Errorf("component %s, PackageInfo %+v", c.Component, c.Info)
	}
	if c.Dist.Options.HostArchitectures != "arm64,x86_64" || c.Dist.VolumeCheck.MinOS.Min != MinMacOS || c.Dist.Title != "TeleClaude" {
		t.Errorf("Distribution %+v", c.Dist)
	}
}

func TestBuildRejects(t *testing.T) {
	for _, o := range []Options{
		{Version: "", Teleclaude: []byte("x"), Telec: []byte("x")},
		{Version: "1", Teleclaude: []byte("x")},
	} {
		if err := Build(&bytes.Buffer{}, o); err == nil {
			t.Errorf("Build(%+v) succeeded", o)
		}
	}
}

// TestReceiptVersion: releases keep their version; dev builds get one that
// sorts below releases and by build time, as Munki and Jamf compare them.
func TestReceiptVersion(t *testing.T) {
	at := time.Date(2026, 12, 2, 8, 30, 5, 0, time.UTC)
	for in, want := range map[string]string{
		"v1.2.3":               "1.2.3",
		"1.2.3":                "1.2.3",
		"v1.2.3-4-gabc1234":    "1.2.3-4-gabc1234",
		"v0.1.1-snapshot.3ab3": "0.1.1-snapshot.3ab3",
		"3ab3782":              "0.0.0-dev.20261202083005.3ab3782",
		"3ab3782-dirty":        "0.0.0-dev.20261202083005.3ab3782-dirty",
		"dev":                  "0.0.0-dev.20261202083005.dev",
		"v1.2":                 "0.0.0-dev.20261202083005.1.2",
		"weird/ver sion":       "0.0.0-dev.20261202083005.weird-ver-sion",
	} {
		if got := ReceiptVersion(in, at); got != want {
			t.Errorf("ReceiptVersion(%q) = %q, want %q", in, got, want)
		}
	}
	// Later dev builds sort after earlier ones, field by field as numbers.
	a, b := ReceiptVersion("ffff", at), ReceiptVersion("0000", at.Add(time.Second))
	if !(a < b) {
		t.Errorf("%s does not sort before %s", a, b)
	}
}

// TestNewsyslog checks the rotation rule newsyslog reads: the daemon's
// launchd output files, with owner, mode, count, size and flags in
// newsyslog.conf(5)'s columns.
func TestNewsyslog(t *testing.T) {
	data, _ := files.ReadFile("newsyslog.conf")
	var rules [][]string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			rules = append(rules, f)
		}
	}
	paths := darwinSystem(t)
	want := []string{paths.LogDir + "/stdout.log", paths.LogDir + "/stderr.log"}
	if len(rules) != len(want) {
		t.Fatalf("%d rules, want %d", len(rules), len(want))
	}
	for i, f := range rules {
		if len(f) != 7 || f[0] != want[i] || f[1] != "_teleclaude:admin" || f[2] != "640" || f[5] != "*" || f[6] != "NJ" {
			t.Errorf("rule %q, want %s _teleclaude:admin 640 COUNT SIZE * NJ", f, want[i])
		}
	}
}

// TestSignedPackage: a package signed with a throwaway Developer ID
// Installer chain verifies with openssl up to the test's root, and still
// opens and checks with bsdtar.
func TestSignedPackage(t *testing.T) {
	c := xartest.NewChain(t, xartest.LeafOptions{})
	var buf bytes.Buffer
	err := Build(&buf, Options{Version: "1.2.3", Teleclaude: []byte("tc"), Telec: []byte("t"), ModTime: time.Unix(1700000000, 0),
		Signer: &xar.Signer{Key: c.Key, Chain: []*x509.Certificate{c.Leaf, c.Intermediate, c.Root}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xartest.Verify(t, buf.Bytes(), c.Root); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "signed.pkg")
	os.WriteFile(file, buf.Bytes(), 0o644)
	macpkgtest.Open(t, file).CheckBom(t)
}

// TestWorkflowMatchesScript: the macOS CI job is valid YAML, runs on a
// macOS runner, and runs verify-on-mac.sh's steps one by one, each once,
// in the script's order, after building the package with make pkg.
func TestWorkflowMatchesScript(t *testing.T) {
	script, err := os.ReadFile("verify-on-mac.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^STEPS="([^"]+)"$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("verify-on-mac.sh has no STEPS line")
	}
	steps := strings.Fields(string(m[1]))
	for _, s := range steps {
		if !regexp.MustCompile(`(?m)^step_` + s + `\(\) \{$`).Match(script) {
			t.Errorf("verify-on-mac.sh lists step %s but defines no step_%s", s, s)
		}
	}
	for _, want := range []string{"installer -pkg", "pkgutil --check-signature", "pkgutil --files", "pkgutil --file-info",
		"launchctl print \"system/$LABEL\"", "dseditgroup -o edit -a", "telec whoami", "/uninstall\" --delete-data"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("verify-on-mac.sh does not run %s", want)
		}
	}

	data, err := os.ReadFile("../../.github/workflows/macos-pkg.yml")
	if err != nil {
		t.Fatal(err)
	}
	// Every key GitHub's schema allows where this workflow uses it; an
	// unknown one (a typo) fails the decoding.
	var wf struct {
		Name        string
		On          map[string]any
		Permissions map[string]string
		Jobs        map[string]struct {
			RunsOn         string `yaml:"runs-on"`
			TimeoutMinutes int    `yaml:"timeout-minutes"`
			Env            map[string]string
			Steps          []struct {
				Name string
				If   string
				Uses string
				Run  string
				With map[string]any
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("the workflow is not valid YAML of the expected shape: %v", err)
	}
	job, ok := wf.Jobs["verify-pkg"]
	if !ok || !strings.HasPrefix(job.RunsOn, "macos-") || len(wf.On) == 0 {
		t.Fatalf("no verify-pkg job on a macOS runner: %+v", wf)
	}
	var ran []string
	built := false
	stepRun := regexp.MustCompile(`^sudo -E packaging/pkg/verify-on-mac\.sh "\$PKG" ([a-z_]+)$`)
	for _, s := range job.Steps {
		run := strings.TrimSpace(s.Run)
		if strings.Contains(run, "make pkg") {
			built = true
		}
		if !strings.Contains(run, "verify-on-mac.sh") {
			continue
		}
		m := stepRun.FindStringSubmatch(run)
		if m == nil || s.Name != m[1] {
			t.Errorf("step %q runs %q, want `sudo -E packaging/pkg/verify-on-mac.sh \"$PKG\" %s`", s.Name, run, s.Name)
			continue
		}
		if !built {
			t.Errorf("step %s runs before the package is built", m[1])
		}
		ran = append(ran, m[1])
	}
	if !slices.Equal(ran, steps) {
		t.Errorf("the workflow runs the steps %q, the script has %q", ran, steps)
	}
}

// TestNotarizeSkips: without credentials the release step leaves the
// package alone and says why; with credentials but no rcodesign it fails.
func TestNotarizeSkips(t *testing.T) {
	pkgFile := filepath.Join(t.TempDir(), "x.pkg")
	os.WriteFile(pkgFile, []byte("xar!"), 0o644)
	cmd := exec.Command("./notarize.sh", pkgFile)
	cmd.Env = append(os.Environ(), "TELECLAUDE_NOTARY_API_KEY=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "skipped: TELECLAUDE_NOTARY_API_KEY is not set") {
		t.Errorf("without credentials: %v: %s", err, out)
	}
	key := filepath.Join(t.TempDir(), "key.json")
	os.WriteFile(key, []byte("{}"), 0o600)
	cmd = exec.Command("./notarize.sh", pkgFile)
	cmd.Env = append(os.Environ(), "TELECLAUDE_NOTARY_API_KEY="+key, "PATH="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "rcodesign is not on PATH") {
		t.Errorf("without rcodesign: %v: %s", err, out)
	}
}
