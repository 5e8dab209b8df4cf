package pkg

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/testenv"
)

func TestMain(m *testing.M) {
	if name := filepath.Base(os.Args[0]); fakes[name] != nil {
		os.Exit(runFake(name, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func owner(st os.FileInfo) int { return int(st.Sys().(*syscall.Stat_t).Uid) }
func group(st os.FileInfo) int { return int(st.Sys().(*syscall.Stat_t).Gid) }

// mac is a scratch Mac: a target volume, the package's scripts extracted
// as Installer extracts them, and the stand-ins on PATH.
type mac struct {
	t       *testing.T
	root    string // the target volume ($3)
	scripts string
	payload string // the Payload archive
	bin     string
	state   string
	log     string
	bsdtar  string
}

func newMac(t *testing.T) *mac {
	t.Helper()
	testenv.Root(t, "the stand-in chown gives files to the service user")
	m := &mac{t: t, bsdtar: testenv.Tool(t, "bsdtar")}
	dir := t.TempDir()
	m.root, m.scripts, m.bin = filepath.Join(dir, "volume"), filepath.Join(dir, "scripts"), filepath.Join(dir, "bin")
	m.state, m.log = filepath.Join(dir, "machine.json"), filepath.Join(dir, "calls.log")
	for _, d := range []string{m.root, m.scripts, m.bin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name := range fakes {
		if err := os.Symlink(self, filepath.Join(m.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	m.set(func(*machine) {})

	// Build the package and take out its two archives.
	var buf bytes.Buffer
	err = Build(&buf, Options{Version: "1.2.3", Teleclaude: []byte("teleclaude program"), Telec: []byte("telec program"), ModTime: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	pkgFile := filepath.Join(dir, "TeleClaude-installer.pkg")
	os.WriteFile(pkgFile, buf.Bytes(), 0o644)
	m.tar("-xf", pkgFile, "-C", dir, "teleclaude.pkg/Payload", "teleclaude.pkg/Scripts")
	m.payload = filepath.Join(dir, "teleclaude.pkg", "Payload")
	m.tar("-xpf", filepath.Join(dir, "teleclaude.pkg", "Scripts"), "-C", m.scripts)
	return m
}

func (m *mac) tar(args ...string) {
	m.t.Helper()
	if out, err := exec.Command(m.bsdtar, args...).CombinedOutput(); err != nil {
		m.t.Fatalf("bsdtar %q: %v: %s", args, err, out)
	}
}

// set changes the model of the machine.
func (m *mac) set(change func(*machine)) {
	m.t.Helper()
	st := newMachine()
	if _, err := os.Stat(m.state); err == nil {
		st = m.machine()
	}
	change(st)
	if err := st.save(m.state); err != nil {
		m.t.Fatal(err)
	}
}

func (m *mac) machine() *machine {
	m.t.Helper()
	st, err := loadMachine(m.state)
	if err != nil {
		m.t.Fatal(err)
	}
	return st
}

// run runs a script with the stand-ins first on PATH and returns what it
// printed and the calls it made.
func (m *mac) run(script string, args ...string) (string, []string, error) {
	m.t.Helper()
	os.Remove(m.log)
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), "PATH="+m.bin+":"+os.Getenv("PATH"), "FAKE_STATE="+m.state, "FAKE_LOG="+m.log, "TELECLAUDE_PKG_TESTING=1")
	out, err := cmd.CombinedOutput()
	calls, _ := os.ReadFile(m.log)
	return string(out), strings.Split(strings.TrimSpace(string(calls)), "\n"), err
}

// install does what Installer does: preinstall, unpack the Payload,
// postinstall, and the receipt. It returns the calls of both scripts.
func (m *mac) install() (string, []string, error) {
	m.t.Helper()
	out, pre, post, err := m.installSteps()
	return out, append(pre, post...), err
}

// installSteps is install with the calls of each script apart.
func (m *mac) installSteps() (out string, pre, post []string, err error) {
	m.t.Helper()
	out, pre, err = m.run(filepath.Join(m.scripts, "preinstall"), "/pkg", m.root, m.root, "/")
	if err != nil {
		return out, pre, nil, err
	}
	m.tar("-xpf", m.payload, "-C", m.root)
	postOut, post, err := m.run(filepath.Join(m.scripts, "postinstall"), "/pkg", m.root, m.root, "/")
	if err == nil {
		m.set(func(st *machine) { st.Receipts = append(st.Receipts, label) })
	}
	return out + postOut, pre, post, err
}

func (m *mac) mustInstall() []string {
	m.t.Helper()
	out, calls, err := m.install()
	if err != nil {
		m.t.Fatalf("install: %v\n%s\ncalls:\n%s", err, out, strings.Join(calls, "\n"))
	}
	return calls
}

func (m *mac) path(rel string) string { return filepath.Join(m.root, rel) }

const base = "Library/Application Support/TeleClaude"

// calls compares the recorded calls with want; the root of the scratch
// volume reads as $ROOT.
func (m *mac) calls(got []string, want ...string) {
	m.t.Helper()
	for i := range got {
		got[i] = strings.ReplaceAll(got[i], m.root, "$ROOT")
	}
	if !slices.Equal(got, want) {
		m.t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// The calls that make a new account with id n, after the reads.
func createCalls(n string) []string {
	return []string{
		"dscl . -list /Users UniqueID",
		"dscl . -list /Groups PrimaryGroupID",
		`dseditgroup -o create -r "TeleClaude daemon" -i ` + n + " _teleclaude",
		"dscl . -create /Users/_teleclaude",
		"dscl . -create /Users/_teleclaude UniqueID " + n,
		`dscl . -create /Users/_teleclaude RealName "TeleClaude daemon"`,
		"dscl . -create /Users/_teleclaude Password *",
	}
}

// ensureCalls are preinstall's checks of the user's attributes; set lists
// those it has to change.
func ensureCalls(gid string, set ...string) []string {
	var calls []string
	for _, kv := range [][2]string{{"PrimaryGroupID", gid}, {"UserShell", "/usr/bin/false"}, {"NFSHomeDirectory", "/var/empty"}, {"IsHidden", "1"}} {
		calls = append(calls, "dscl . -read /Users/_teleclaude "+kv[0])
		if slices.Contains(set, kv[0]) {
			calls = append(calls, "dscl . -create /Users/_teleclaude "+kv[0]+" "+kv[1])
		}
	}
	return calls
}

// postCalls is what postinstall does once the account exists.
func postCalls(extra ...string) []string {
	calls := []string{"dscl . -read /Users/_teleclaude UniqueID"}
	calls = append(calls, extra...)
	b := `"$ROOT/Library/Application Support/TeleClaude`
	return append(calls,
		"chown root:wheel "+b+`"`,
		"chown root:wheel "+b+`/bin"`,
		"chown _teleclaude:_teleclaude "+b+`/data"`,
		"chown _teleclaude:_teleclaude "+b+`/run"`,
		"chown _teleclaude:_teleclaude "+b+`/shared"`,
		"chown _teleclaude:admin $ROOT/Library/Logs/TeleClaude",
	)
}

func startCalls() []string {
	return []string{
		"launchctl enable system/ai.instrukt.teleclaude",
		"launchctl bootstrap system $ROOT/Library/LaunchDaemons/ai.instrukt.teleclaude.plist",
		"launchctl kickstart system/ai.instrukt.teleclaude",
	}
}

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

func firstInstallCalls(id string) []string {
	b := `"$ROOT/Library/Application Support/TeleClaude`
	return concat(
		[]string{
			"launchctl print system/ai.instrukt.teleclaude",
			"dscl . -read /Users/_teleclaude UniqueID",
			"dscl . -read /Groups/_teleclaude PrimaryGroupID",
		},
		createCalls(id),
		ensureCalls(id, "PrimaryGroupID", "UserShell", "NFSHomeDirectory", "IsHidden"),
		postCalls(),
		[]string{
			"chown root:wheel " + b + `/config.yml.new"`,
			"chown _teleclaude:wheel " + b + `/secrets.yml.new"`,
			"chown root:wheel $ROOT/Library/LaunchDaemons/ai.instrukt.teleclaude.plist",
		},
		startCalls(),
	)
}

func TestFirstInstall(t *testing.T) {
	m := newMac(t)
	m.calls(m.mustInstall(), firstInstallCalls("350")...)

	st := m.machine()
	want := map[string]string{"UniqueID": "350", "PrimaryGroupID": "350", "UserShell": "/usr/bin/false",
		"NFSHomeDirectory": "/var/empty", "IsHidden": "1", "RealName": "TeleClaude daemon", "Password": "*"}
	if !mapsEqual(st.Users["_teleclaude"], want) {
		t.Errorf("user _teleclaude = %v, want %v", st.Users["_teleclaude"], want)
	}
	if g := st.Groups["_teleclaude"]["PrimaryGroupID"]; g != "350" {
		t.Errorf("group _teleclaude gid = %q, want 350", g)
	}
	if !strings.HasSuffix(st.Loaded, "/Library/LaunchDaemons/ai.instrukt.teleclaude.plist") || !st.Enabled {
		t.Errorf("launchd: loaded %q, enabled %v", st.Loaded, st.Enabled)
	}
	m.checkTree(350, 350)
}

// checkTree checks the files and directories of an installed system.
func (m *mac) checkTree(uid, gid int) {
	t := m.t
	t.Helper()
	tests := []struct {
		path     string
		uid, gid int
		mode     os.FileMode
	}{
		{base, 0, 0, os.ModeDir | 0o755},
		{base + "/bin", 0, 0, os.ModeDir | 0o755},
		{base + "/bin/teleclaude", 0, 0, 0o755},
		{base + "/bin/telec", 0, 0, 0o755},
		{base + "/uninstall", 0, 0, 0o755},
		{base + "/config.example.yml", 0, 0, 0o644},
		{base + "/config.yml", 0, 0, 0o644},
		{base + "/secrets.yml", uid, 0, 0o600},
		{base + "/data", uid, gid, os.ModeDir | 0o750},
		{base + "/run", uid, gid, os.ModeDir | 0o755},
		{base + "/shared", uid, gid, os.ModeDir | 0o755},
		{"Library/Logs/TeleClaude", uid, 80, os.ModeDir | 0o750},
		{"Library/LaunchDaemons/ai.instrukt.teleclaude.plist", 0, 0, 0o644},
		{"private/etc/newsyslog.d/teleclaude.conf", 0, 0, 0o644},
		{"Library/Application Support", 0, 80, os.ModeDir | 0o755},
	}
	for _, tt := range tests {
		st, err := os.Lstat(m.path(tt.path))
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if owner(st) != tt.uid || group(st) != tt.gid || st.Mode() != tt.mode {
			t.Errorf("%s: %d:%d %v, want %d:%d %v", tt.path, owner(st), group(st), st.Mode(), tt.uid, tt.gid, tt.mode)
		}
	}
	plistData, _ := files.ReadFile(label + ".plist")
	if got, _ := os.ReadFile(m.path("Library/LaunchDaemons/" + label + ".plist")); !bytes.Equal(got, plistData) {
		t.Error("the installed plist is not the package's")
	}
	if target, err := os.Readlink(m.path("usr/local/bin/telec")); err != nil || target != m.path(base+"/bin/telec") {
		t.Errorf("/usr/local/bin/telec -> %q (%v), want the installed telec", target, err)
	}
	// The daemon would start: the starter config and secrets load cleanly.
	// (_teleclaude is only the stand-ins' here, so the loader, run as root,
	// takes the secrets' owner on trust; the table above checks it.)
	paths := layout.Paths{Mode: layout.System, ServiceUser: "_teleclaude", ConfigFile: m.path(base + "/config.yml"), SecretsFile: m.path(base + "/secrets.yml"),
		DataDir: m.path(base + "/data"), LogDir: m.path("Library/Logs/TeleClaude"), RunDir: m.path(base + "/run"),
		Socket: m.path(base + "/run/teleclaude.sock"), SharedDir: m.path(base + "/shared")}
	cfg, err := config.Load(paths, func(string) string { return "" })
	if err != nil {
		t.Errorf("the installed config does not load: %v", err)
	} else if len(cfg.Warnings) != 0 || *cfg.Sessions.MinUID != 501 {
		t.Errorf("config warnings %q, min_uid %d", cfg.Warnings, *cfg.Sessions.MinUID)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSecondInstall: an upgrade over a running install creates nothing,
// keeps the admin's config and secrets and the data, and restarts. Secrets
// as an older install left them, root:_teleclaude 0640 (readable by every
// user of the socket), become _teleclaude:wheel 0600, content untouched.
func TestSecondInstall(t *testing.T) {
	m := newMac(t)
	m.mustInstall()
	secrets := m.path(base + "/secrets.yml")
	os.WriteFile(m.path(base+"/config.yml"), []byte("people: []\n# edited by the admin\n"), 0o644)
	os.WriteFile(secrets, []byte("agent_env: {ANTHROPIC_API_KEY: sk-x}\n"), 0o600)
	os.Chown(secrets, 0, 350)
	os.Chmod(secrets, 0o640)
	os.WriteFile(m.path(base+"/data/teleclaude.db"), []byte("precious"), 0o640)
	os.Chown(m.path(base+"/data/teleclaude.db"), 350, 350)

	out, calls, err := m.install()
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	m.calls(calls, concat(
		[]string{
			"launchctl print system/ai.instrukt.teleclaude",
			"launchctl bootout system/ai.instrukt.teleclaude",
			"launchctl print system/ai.instrukt.teleclaude", // gone: preinstall goes on
			"dscl . -read /Users/_teleclaude UniqueID",
			"dscl . -read /Groups/_teleclaude PrimaryGroupID",
		},
		ensureCalls("350"),
		postCalls(),
		[]string{
			`chown _teleclaude:wheel "$ROOT/Library/Application Support/TeleClaude/secrets.yml"`,
			"chown root:wheel $ROOT/Library/LaunchDaemons/ai.instrukt.teleclaude.plist",
		},
		startCalls(),
	)...)
	if !strings.Contains(out, "secrets.yml was -rw-r----- 0 350 (mode, uid, gid); it is now _teleclaude:wheel 0600") {
		t.Errorf("the upgrade does not say it closed the secrets to the group:\n%s", out)
	}
	for file, want := range map[string]string{
		base + "/config.yml":         "people: []\n# edited by the admin\n",
		base + "/secrets.yml":        "agent_env: {ANTHROPIC_API_KEY: sk-x}\n",
		base + "/data/teleclaude.db": "precious",
	} {
		if got, _ := os.ReadFile(m.path(file)); string(got) != want {
			t.Errorf("%s = %q after an upgrade, want %q", file, got, want)
		}
	}
	closed := func() {
		t.Helper()
		if st, _ := os.Stat(secrets); owner(st) != 350 || group(st) != 0 || st.Mode().Perm() != 0o600 {
			t.Errorf("secrets.yml is %d:%d %v after an upgrade, want _teleclaude:wheel 0600", owner(st), group(st), st.Mode())
		}
	}
	closed()

	// Once right, an upgrade leaves them so, and says nothing about them.
	out, _, err = m.install()
	if err != nil || strings.Contains(out, "secrets.yml was") {
		t.Errorf("second upgrade: %v\n%s", err, out)
	}
	closed()
}

// TestTakenIDs: ids in use by other accounts are skipped.
func TestTakenIDs(t *testing.T) {
	m := newMac(t)
	m.set(func(st *machine) {
		st.Users["_other"] = map[string]string{"UniqueID": "350", "PrimaryGroupID": "20"}
		st.Groups["_things"] = map[string]string{"PrimaryGroupID": "351"}
	})
	m.calls(m.mustInstall(), firstInstallCalls("352")...)
	m.checkTree(352, 352)
}

// TestNoFreeID: with 350-394 all taken the install stops before a file is
// unpacked, saying why; it never takes 395-399, which macOS gives to the
// groups it makes on demand (com.apple.access_ssh and others), even when
// they do not exist yet.
func TestNoFreeID(t *testing.T) {
	m := newMac(t)
	m.set(func(st *machine) {
		for n := 350; n <= 394; n++ {
			st.Users["_u"+strconv.Itoa(n)] = map[string]string{"UniqueID": strconv.Itoa(n)}
		}
	})
	out, calls, err := m.install()
	if err == nil || !strings.Contains(out, "no free id in 350-394") {
		t.Fatalf("install: err %v, output %q; want a refusal naming the range", err, out)
	}
	for _, c := range calls {
		if strings.Contains(c, "-create") || strings.Contains(c, "-o create") {
			t.Errorf("refused install still ran %q", c)
		}
	}
	if _, err := os.Stat(m.path(base)); err == nil {
		t.Error("the payload was unpacked after preinstall failed")
	}
}

// TestExistingAccount: an existing _teleclaude keeps its id; its attributes
// are put right; an account that cannot be a service account stops the
// install with the command that fixes it, before anything changes.
func TestExistingAccount(t *testing.T) {
	t.Run("user and group with another id", func(t *testing.T) {
		m := newMac(t)
		m.set(func(st *machine) {
			st.Users["_teleclaude"] = map[string]string{"UniqueID": "261", "PrimaryGroupID": "20", "UserShell": "/bin/zsh",
				"NFSHomeDirectory": "/var/empty", "IsHidden": "1"}
			st.Groups["_teleclaude"] = map[string]string{"PrimaryGroupID": "261"}
		})
		out, pre, _, err := m.installSteps()
		if err != nil {
			t.Fatalf("install: %v\n%s", err, out)
		}
		m.calls(pre, concat([]string{
			"launchctl print system/ai.instrukt.teleclaude",
			"dscl . -read /Users/_teleclaude UniqueID",
			"dscl . -read /Groups/_teleclaude PrimaryGroupID",
		}, ensureCalls("261", "PrimaryGroupID", "UserShell"))...)
		if !strings.Contains(out, "keeping the existing _teleclaude with uid 261") {
			t.Errorf("output does not say the uid is kept:\n%s", out)
		}
		if u := m.machine().Users["_teleclaude"]; u["UniqueID"] != "261" || u["PrimaryGroupID"] != "261" || u["UserShell"] != "/usr/bin/false" {
			t.Errorf("user = %v", u)
		}
		m.checkTree(261, 261)
	})
	t.Run("user without its group", func(t *testing.T) {
		m := newMac(t)
		m.set(func(st *machine) {
			st.Users["_teleclaude"] = map[string]string{"UniqueID": "355", "PrimaryGroupID": "355"}
		})
		_, calls, err := m.install()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(calls, `dseditgroup -o create -r "TeleClaude daemon" -i 355 _teleclaude`) || slices.Contains(calls, "dscl . -create /Users/_teleclaude") {
			t.Errorf("calls:\n%s\nwant the group created with gid 355 and the user left", strings.Join(calls, "\n"))
		}
		m.checkTree(355, 355)
	})
	for _, tt := range []struct{ uid, want string }{
		{"0", "Delete it (sudo dscl . -delete /Users/_teleclaude)"},
		{"502", "among people's accounts"},
	} {
		t.Run("uid "+tt.uid, func(t *testing.T) {
			m := newMac(t)
			m.set(func(st *machine) { st.Users["_teleclaude"] = map[string]string{"UniqueID": tt.uid} })
			out, calls, err := m.install()
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("install: err %v, output %q; want a refusal containing %q", err, out, tt.want)
			}
			m.calls(calls, "launchctl print system/ai.instrukt.teleclaude", "dscl . -read /Users/_teleclaude UniqueID",
				"dscl . -read /Groups/_teleclaude PrimaryGroupID")
		})
	}
}

// TestOldPlist: a job of an older install is running from a plist that
// launchd would now refuse (group-writable, owned by someone else); the
// upgrade stops it, replaces the plist and starts the new one.
func TestOldPlist(t *testing.T) {
	m := newMac(t)
	old := m.path("Library/LaunchDaemons/" + label + ".plist")
	os.MkdirAll(filepath.Dir(old), 0o755)
	os.WriteFile(old, []byte(`<plist version="1.0"><dict><key>Label</key><string>ai.instrukt.teleclaude</string></dict></plist>`), 0o664)
	os.Chmod(old, 0o664)
	os.Chown(old, 501, 20)
	m.set(func(st *machine) { st.Loaded = old })

	calls := m.mustInstall()
	m.calls(calls[:2], "launchctl print system/ai.instrukt.teleclaude", "launchctl bootout system/ai.instrukt.teleclaude")
	m.calls(calls[len(calls)-4:], append([]string{"chown root:wheel $ROOT/Library/LaunchDaemons/ai.instrukt.teleclaude.plist"}, startCalls()...)...)
	m.checkTree(350, 350)
}

// TestSlowStop: an upgrade over a daemon that takes 15 s to exit after
// bootout (which reports an error meanwhile) waits in preinstall until
// launchd no longer has the job; one that never stops ends the install
// before a file is unpacked.
func TestSlowStop(t *testing.T) {
	m := newMac(t)
	m.mustInstall()
	m.set(func(st *machine) { st.StopSeconds = 15 })
	out, pre, post, err := m.installSteps()
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	want := []string{"launchctl print system/ai.instrukt.teleclaude", "launchctl bootout system/ai.instrukt.teleclaude"}
	for range 15 {
		want = append(want, "launchctl print system/ai.instrukt.teleclaude", "sleep 1")
	}
	want = append(want, "launchctl print system/ai.instrukt.teleclaude")
	m.calls(pre[:len(want)], want...)
	if !strings.Contains(out, "the old daemon stopped after 15 s") || m.machine().Loaded == "" {
		t.Errorf("output %q, loaded %q", out, m.machine().Loaded)
	}
	m.calls(post[len(post)-3:], startCalls()...) // loaded at the first try

	m.set(func(st *machine) { st.StopSeconds = 1000 })
	os.Remove(m.path(base + "/uninstall"))
	out, _, err = m.install()
	if err == nil || !strings.Contains(out, "did not stop within 60 seconds") {
		t.Fatalf("install over a daemon that does not stop: err %v\n%s", err, out)
	}
	if _, err := os.Stat(m.path(base + "/uninstall")); err == nil {
		t.Error("the Payload was unpacked although the old daemon was still running")
	}
}

// TestBootstrapRefused: launchd refusing once is retried; refusing every
// time stops the install with the command to run, and touches no data.
func TestBootstrapRefused(t *testing.T) {
	m := newMac(t)
	m.set(func(st *machine) { st.RefuseBootstrap = 1 })
	out, calls, err := m.install()
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	plistPath := "$ROOT/Library/LaunchDaemons/ai.instrukt.teleclaude.plist"
	m.calls(calls[len(calls)-6:],
		"launchctl enable system/ai.instrukt.teleclaude",
		"launchctl bootstrap system "+plistPath,
		"launchctl bootout system/ai.instrukt.teleclaude",
		"sleep 1",
		"launchctl bootstrap system "+plistPath,
		"launchctl kickstart system/ai.instrukt.teleclaude")
	if m.machine().Loaded == "" {
		t.Error("the job is not loaded after the retry")
	}

	os.WriteFile(m.path(base+"/data/teleclaude.db"), []byte("precious"), 0o640)
	m.set(func(st *machine) { st.RefuseBootstrap = 100 })
	out, calls, err = m.install()
	if err == nil || !strings.Contains(out, "launchd refused to load") || !strings.Contains(out, "sudo launchctl bootstrap system ") {
		t.Fatalf("install with launchd refusing: err %v\n%s", err, out)
	}
	bootstraps := 0
	for _, c := range calls {
		if strings.HasPrefix(c, "launchctl bootstrap") {
			bootstraps++
		}
	}
	if bootstraps != 5 {
		t.Errorf("%d bootstrap attempts, want 5", bootstraps)
	}
	if got, _ := os.ReadFile(m.path(base + "/data/teleclaude.db")); string(got) != "precious" {
		t.Error("the data changed")
	}
}

// TestUninstall removes the programs, the job, the receipt and the
// account, and keeps every byte of data (the secrets given to root); a
// reinstall takes the data back.
func TestUninstall(t *testing.T) {
	m := newMac(t)
	m.mustInstall()
	db := m.path(base + "/data/teleclaude.db")
	os.WriteFile(db, []byte("precious"), 0o640)
	os.Chown(db, 350, 350)
	os.WriteFile(m.path(base+"/shared/notes.md"), []byte("shared"), 0o644)
	os.WriteFile(m.path("Library/Logs/TeleClaude/teleclaude.log"), []byte("log"), 0o640)

	out, calls, err := m.run(m.path(base+"/uninstall"), "--target", m.root)
	if err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	m.calls(calls,
		"id -u",
		"launchctl print system/ai.instrukt.teleclaude",
		"launchctl bootout system/ai.instrukt.teleclaude",
		"launchctl disable system/ai.instrukt.teleclaude",
		"pkgutil --forget ai.instrukt.teleclaude",
		`chown root:wheel "$ROOT/Library/Application Support/TeleClaude/secrets.yml"`,
		"dscl . -read /Users/_teleclaude UniqueID",
		"dscl . -delete /Users/_teleclaude",
		"dscl . -read /Groups/_teleclaude PrimaryGroupID",
		"dseditgroup -o delete _teleclaude")
	st := m.machine()
	if st.Users["_teleclaude"] != nil || st.Groups["_teleclaude"] != nil || st.Loaded != "" || len(st.Receipts) != 0 || st.Enabled {
		t.Errorf("after uninstall: user %v, group %v, loaded %q, receipts %q, enabled %v", st.Users["_teleclaude"], st.Groups["_teleclaude"], st.Loaded, st.Receipts, st.Enabled)
	}
	for _, gone := range []string{base + "/bin", base + "/run", base + "/uninstall", base + "/config.example.yml",
		"Library/LaunchDaemons/" + label + ".plist", "private/etc/newsyslog.d/teleclaude.conf", "usr/local/bin/telec"} {
		if _, err := os.Lstat(m.path(gone)); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	for file, want := range map[string]string{base + "/data/teleclaude.db": "precious", base + "/shared/notes.md": "shared",
		"Library/Logs/TeleClaude/teleclaude.log": "log"} {
		if got, err := os.ReadFile(m.path(file)); err != nil || string(got) != want {
			t.Errorf("%s = %q (%v) after uninstall, want it kept", file, got, err)
		}
	}
	for _, kept := range []string{base + "/config.yml", base + "/secrets.yml"} {
		if _, err := os.Stat(m.path(kept)); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}
	// The kept secrets are root's while their owner is deleted, so that an
	// account made later with uid 350 does not own them.
	if st, err := os.Stat(m.path(base + "/secrets.yml")); err != nil || owner(st) != 0 || group(st) != 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("kept secrets.yml: %v, want root:wheel 0600", err)
	}

	// Someone took uid 350 meanwhile: the reinstall picks 351 and gives the
	// kept data to it.
	m.set(func(st *machine) { st.Users["_newcomer"] = map[string]string{"UniqueID": "350"} })
	out, calls, err = m.install()
	if err != nil {
		t.Fatalf("reinstall: %v\n%s", err, out)
	}
	if !strings.Contains(out, "belongs to uid 350, not to _teleclaude (uid 351)") {
		t.Errorf("reinstall does not say it re-owns the data:\n%s", out)
	}
	// -P: a link planted in the data is changed itself, never followed.
	if reown := "chown -R -P _teleclaude:_teleclaude \"" + m.path(base+"/data") + "\""; !slices.Contains(calls, reown) {
		t.Errorf("calls:\n%s\nwant %s", strings.Join(calls, "\n"), reown)
	}
	if st, err := os.Stat(db); err != nil || owner(st) != 351 {
		t.Errorf("kept database after reinstall: %v, want it owned by 351", err)
	}
	m.checkTree(351, 351)
}

// TestReinstallTakesKeptID: with its old id free again, a reinstall takes
// it rather than the first free one, so kept data needs no chown.
func TestReinstallTakesKeptID(t *testing.T) {
	m := newMac(t)
	m.set(func(st *machine) { st.Users["_a"] = map[string]string{"UniqueID": "350"} })
	m.mustInstall()
	if out, _, err := m.run(m.path(base+"/uninstall"), "--target", m.root); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	m.set(func(st *machine) { delete(st.Users, "_a") })
	calls := m.mustInstall()
	if !slices.Contains(calls, "dscl . -create /Users/_teleclaude UniqueID 351") || slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "chown -R") }) {
		t.Errorf("calls:\n%s\nwant uid 351 again and no chown -R", strings.Join(calls, "\n"))
	}
}

func TestUninstallDeleteData(t *testing.T) {
	m := newMac(t)
	m.mustInstall()
	out, _, err := m.run(m.path(base+"/uninstall"), "--delete-data", "--target", m.root)
	if err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	for _, gone := range []string{base, "Library/Logs/TeleClaude"} {
		if _, err := os.Lstat(m.path(gone)); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	if _, err := os.Stat(m.path("Library/Application Support")); err != nil {
		t.Errorf("Library/Application Support went too: %v", err)
	}
}

// TestStartupDiskOnly: without the tests' switch, a target other than /
// is refused before anything happens.
func TestStartupDiskOnly(t *testing.T) {
	m := newMac(t)
	for _, script := range []string{"preinstall", "postinstall"} {
		cmd := exec.Command(filepath.Join(m.scripts, script), "/pkg", "/Volumes/Other", "/Volumes/Other", "/")
		cmd.Env = append(os.Environ(), "PATH="+m.bin+":"+os.Getenv("PATH"), "FAKE_STATE="+m.state, "FAKE_LOG="+m.log)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "startup disk only") {
			t.Errorf("%s on /Volumes/Other: err %v, output %q", script, err, out)
		}
	}
	if calls, _ := os.ReadFile(m.log); len(calls) != 0 {
		t.Errorf("refused scripts made calls: %s", calls)
	}
}
