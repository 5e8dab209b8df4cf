package pkg

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/macpkg/macpkgtest"
	"github.com/instruktai/teleclaude/internal/testenv"
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
		"Umask", "StandardOutPath", "StandardErrorPath"}
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
		RunAtLoad, KeepAlive bool
		Umask                int
		StandardOutPath      string
		StandardErrorPath    string
	}
	if _, err := plist.Unmarshal(data, &job); err != nil {
		t.Fatalf("plist keys of the wrong type: %v", err)
	}
	paths := darwinSystem(t)
	want := []string{"/" + Base + "/bin/teleclaude", "serve"}
	if job.Label != Identifier || !slices.Equal(job.ProgramArguments, want) || job.UserName != layout.ServiceUser("darwin") ||
		job.GroupName != "_teleclaude" || !job.RunAtLoad || !job.KeepAlive || job.Umask != 0o027 {
		t.Errorf("job = %+v\nwant label %s, program %q, user and group _teleclaude, RunAtLoad, KeepAlive, umask 027", job, Identifier, want)
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
	cmd := exec.Command(shellcheck, "-x", "-s", "sh", "preinstall", "postinstall", "uninstall", "common.sh")
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
	err := Build(&buf, Options{Version: "v1.2.3", Arch: "amd64", Teleclaude: tc, Telec: telec, ModTime: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), FileName("v1.2.3", "amd64"))
	if filepath.Base(file) != "teleclaude_1.2.3_darwin_amd64.pkg" {
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
	})
	check("Scripts", c.Scripts, []item{
		{".", 0o40755, 0, 0, nil},
		{"./" + Identifier + ".plist", 0o100644, 0, 0, read(Identifier + ".plist")},
		{"./common.sh", 0o100644, 0, 0, read("common.sh")},
		{"./postinstall", 0o100755, 0, 0, read("postinstall")},
		{"./preinstall", 0o100755, 0, 0, read("preinstall")},
	})
	c.CheckBom(t)

	if c.Component != "teleclaude.pkg" || c.Info.Identifier != Identifier || c.Info.Version != "1.2.3" || c.Info.InstallLocation != "/" ||
		c.Info.Scripts.Preinstall == nil || c.Info.Scripts.Postinstall == nil || c.Info.Payload.NumberOfFiles != 9 {
		t.Errorf("component %s, PackageInfo %+v", c.Component, c.Info)
	}
	if c.Dist.Options.HostArchitectures != "x86_64" || c.Dist.VolumeCheck.MinOS.Min != MinMacOS || c.Dist.Title != "TeleClaude" {
		t.Errorf("Distribution %+v", c.Dist)
	}
}

func TestBuildRejects(t *testing.T) {
	for _, o := range []Options{
		{Version: "1", Arch: "386", Teleclaude: []byte("x"), Telec: []byte("x")},
		{Version: "", Arch: "arm64", Teleclaude: []byte("x"), Telec: []byte("x")},
		{Version: "1", Arch: "arm64", Teleclaude: []byte("x")},
	} {
		if err := Build(&bytes.Buffer{}, o); err == nil {
			t.Errorf("Build(%+v) succeeded", o)
		}
	}
}
