//go:build linux

package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/testenv"
	"golang.org/x/sys/unix"
)

// Accounts the tests create. Their names are distinct enough not to clash
// with real users; they are removed at the end if this run created them.
const (
	sockGroup = "tce-sock"
	svcUser   = "tce-svc"
	uAdmin    = "tce-admin"
	uMember   = "tce-member"
	uMember2  = "tce-member2"
	uSys      = "tce-sys"     // a system account (uid below min_uid) mapped to a person
	uPublic   = "tce-public"  // in the socket group, but no person
	uOutside  = "tce-outside" // not in the socket group
)

var (
	shared   string // 0755 directory with the binaries, readable by all test users
	teleBin  string
	telecBin string
	selfBin  string // a copy of this test binary, for helper processes run as other users
	skipWhy  string
	created  []string // accounts and groups this run created, to remove afterwards
)

func TestMain(m *testing.M) {
	if os.Getenv("E2E_HELPER") != "" {
		os.Exit(runHelper())
	}
	code := func() int {
		if os.Getuid() != 0 {
			skipWhy = "end-to-end tests create OS users and need root"
			return m.Run()
		}
		var err error
		if shared, err = os.MkdirTemp("", "tce-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(shared)
		os.Chmod(shared, 0o755)
		if err := build(); err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			return 1
		}
		// The accounts below are machine-wide and removed at the end: a
		// second run of this suite (another checkout, another package)
		// would delete them under the first. Runs take turns.
		unlock, err := lockMachine()
		if err != nil {
			fmt.Fprintln(os.Stderr, "lock:", err)
			return 1
		}
		defer unlock()
		if err := ensureAccounts(); err != nil {
			fmt.Fprintln(os.Stderr, "accounts:", err)
			return 1
		}
		defer removeAccounts()
		return m.Run()
	}()
	os.Exit(code)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s, and CI must run them", skipWhy)
		}
		t.Skip(skipWhy)
	}
}

func build() error {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", shared+"/", "./cmd/teleclaude", "./cmd/telec")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	teleBin, telecBin = filepath.Join(shared, "teleclaude"), filepath.Join(shared, "telec")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		return err
	}
	selfBin = filepath.Join(shared, "e2e.test")
	return os.WriteFile(selfBin, self, 0o755)
}

// lockMachine waits for an exclusive lock shared by every run of the
// end-to-end tests on this machine.
func lockMachine() (func(), error) {
	f, err := os.OpenFile("/tmp/teleclaude-e2e.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

func ensureAccounts() error {
	if _, err := user.LookupGroup(sockGroup); err != nil {
		if out, err := exec.Command("groupadd", sockGroup).CombinedOutput(); err != nil {
			return fmt.Errorf("groupadd: %v: %s", err, out)
		}
		created = append(created, "group:"+sockGroup)
	}
	accounts := []struct {
		name   string
		system bool
		groups string
	}{
		{svcUser, true, sockGroup}, {uAdmin, false, sockGroup}, {uMember, false, sockGroup},
		{uMember2, false, sockGroup}, {uSys, true, sockGroup}, {uPublic, false, sockGroup}, {uOutside, false, ""},
	}
	for _, a := range accounts {
		if u, err := user.Lookup(a.name); err == nil {
			// Left by an earlier run that did not create it (so did not
			// remove it): make it what this run needs.
			if a.groups != "" {
				if out, err := exec.Command("usermod", "-a", "-G", a.groups, a.name).CombinedOutput(); err != nil {
					return fmt.Errorf("usermod %s: %v: %s", a.name, err, out)
				}
			}
			if uid, _ := strconv.Atoi(u.Uid); a.system != (uid < 1000) {
				return fmt.Errorf("account %s exists with uid %d, but the tests need a %s account; remove it (userdel %s)",
					a.name, uid, map[bool]string{true: "system", false: "regular"}[a.system], a.name)
			}
			continue
		}
		args := []string{"-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", "-U"}
		if a.system {
			args = append(args, "--system")
		}
		if a.groups != "" {
			args = append(args, "-G", a.groups)
		}
		if out, err := exec.Command("useradd", append(args, a.name)...).CombinedOutput(); err != nil {
			return fmt.Errorf("useradd %s: %v: %s", a.name, err, out)
		}
		created = append(created, a.name)
	}
	return nil
}

func removeAccounts() {
	for i := len(created) - 1; i >= 0; i-- {
		if g, ok := strings.CutPrefix(created[i], "group:"); ok {
			exec.Command("groupdel", g).Run()
		} else {
			exec.Command("userdel", created[i]).Run()
		}
	}
}

// account is a test user with the credentials to run a process as them.
type account struct {
	name string
	uid  int
	gid  int
	cred *syscall.Credential
}

func lookup(t *testing.T, name string) account {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	var groups []uint32
	for _, g := range gids {
		n, _ := strconv.Atoi(g)
		groups = append(groups, uint32(n))
	}
	return account{name: name, uid: uid, gid: gid, cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
}

// result is what a finished process left.
type result struct {
	stdout, stderr string
	code           int
}

// run runs bin as acct (nil: as root) with env added to a minimal environment.
func run(t *testing.T, acct *account, env []string, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/nonexistent"}, env...)
	cmd.Dir = "/"
	if acct != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: acct.cred}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return result{out.String(), errb.String(), code}
}

// telec runs telec as acct against d's socket.
func (d *daemon) telec(t *testing.T, acct account, args ...string) result {
	t.Helper()
	return run(t, &acct, []string{"TELECLAUDE_SOCKET=" + d.socket}, telecBin, args...)
}

func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout is not the expected JSON (%v): %s", err, r.stdout)
	}
	return v
}

// daemon is a `teleclaude serve` running as the service user in system mode,
// with every path in a private test tree.
type daemon struct {
	dir    string
	socket string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
	env    []string
}

type daemonOpts struct {
	dsn       string // PostgreSQL DSN; "" for SQLite
	config    string // config.yml content; "" for the standard one
	dataDir   string // reuse a data directory (restart tests)
	noWait    bool   // do not wait for readiness
	extraEnv  []string
	runAsRoot bool
	// noCaps runs the daemon without CAP_SETUID/CAP_SETGID: it cannot start
	// sessions as their owners (there is no systemd here either).
	noCaps bool
	socket string // listen here instead of the tree's run directory
	runDir string // reuse a run directory (restart tests: the users' tmux servers live there)
	// extraFiles are open files the daemon inherits (from fd 3), as from a
	// careless supervisor.
	extraFiles []*os.File
	bin        string // another build of teleclaude ("" for the tests' own)
}

// stdConfig is the test machine's config; PROJECTS stands for the daemon's
// project directory.
const stdConfig = `computer: {name: e2e}
people:
  - {name: ada, role: admin, os_username: tce-admin}
  - {name: max, role: member, os_username: tce-member}
  - {name: mo, role: member, os_username: tce-member2}
  - {name: sys, role: member, os_username: tce-sys}
  - {name: svc, role: member, os_username: tce-svc}
projects:
  - {name: demo, path: PROJECTS/demo}
  - {name: other, path: PROJECTS/other}
agents:
  shell: {command: ["/bin/sh"]}
  echo: {command: ["/bin/sh", "-c", "echo started-$TELECLAUDE_SESSION_ID; exec cat"]}
  quick: {command: ["/bin/sh", "-c", "echo bye; exit 3"]}
  doomed: {command: ["/bin/sh", "-c", "kill -TERM $$"]}
  ghost: {command: ["tce-no-such-agent"]}
  keyed: {command: ["/bin/sh", "-c", "echo key=$TCE_TEST_KEY; exec cat"], secrets_env: [TCE_TEST_KEY]}
socket: {group: tce-sock, mode: "0660"}
sessions: {default_agent: echo}
logging: {level: debug}
`

// testSecret is the agent key in the test secrets file.
const testSecret = "tce-s3cret-4242"

func startDaemon(t *testing.T, o daemonOpts) *daemon {
	t.Helper()
	svc := lookup(t, svcUser)
	dir, err := os.MkdirTemp(shared, "d-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	d := &daemon{dir: dir, socket: filepath.Join(dir, "run", "teleclaude.sock"), stderr: &syncBuffer{}, done: make(chan struct{})}
	for _, sub := range []string{"etc", "run", "log", "data", "shared"} {
		p := filepath.Join(dir, sub)
		os.Mkdir(p, 0o755)
		os.Chown(p, svc.uid, svc.gid)
	}
	// Projects anyone may work in, as /tmp is.
	for _, sub := range []string{"projects", "projects/demo", "projects/other"} {
		os.Mkdir(filepath.Join(dir, sub), 0o755)
		os.Chmod(filepath.Join(dir, sub), 0o1777)
	}
	secrets := filepath.Join(dir, "etc", "secrets.yml")
	os.WriteFile(secrets, []byte("agent_env: {TCE_TEST_KEY: "+testSecret+"}\n"), 0o600)
	os.Chown(secrets, svc.uid, svc.gid)
	data := filepath.Join(dir, "data")
	if o.dataDir != "" {
		data = o.dataDir
	}
	cfg := o.config
	if cfg == "" {
		cfg = stdConfig
	}
	d.writeConfig(t, cfg)
	d.env = []string{
		"TELECLAUDE_SYSTEM_MODE=1",
		"TELECLAUDE_CONFIG_DIR=" + filepath.Join(dir, "etc"),
		"TELECLAUDE_DATA_DIR=" + data,
		"TELECLAUDE_RUN_DIR=" + cmp.Or(o.runDir, filepath.Join(dir, "run")),
		"TELECLAUDE_LOG_DIR=" + filepath.Join(dir, "log"),
		"TELECLAUDE_SHARED_DIR=" + filepath.Join(dir, "shared"),
	}
	if o.dsn != "" {
		d.env = append(d.env, "TELECLAUDE_DB_ENGINE=postgresql", "TELECLAUDE_DB_DSN="+o.dsn)
	}
	if o.socket != "" {
		d.socket = o.socket
		d.env = append(d.env, "TELECLAUDE_SOCKET="+o.socket)
	}
	d.env = append(d.env, o.extraEnv...)
	d.cmd = exec.Command(cmp.Or(o.bin, teleBin), "serve")
	d.cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}, d.env...)
	d.cmd.Dir = "/"
	if !o.runAsRoot {
		// The service user, not root; without systemd here, it needs
		// exactly these two capabilities to start sessions as their owners.
		d.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: svc.cred}
		if !o.noCaps {
			d.cmd.SysProcAttr.AmbientCaps = []uintptr{unix.CAP_SETUID, unix.CAP_SETGID}
		}
	}
	d.cmd.Stdout, d.cmd.Stderr = d.stderr, d.stderr
	d.cmd.ExtraFiles = o.extraFiles
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		if t.Failed() {
			// A daemon still running when a test failed may be stuck:
			// SIGQUIT makes the Go runtime print every goroutine's stack.
			select {
			case <-d.done:
			default:
				d.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-d.done:
				case <-time.After(5 * time.Second):
				}
			}
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon (%v) log:\n%s", d.err, d.stderr)
		}
		d.killTmuxServers()
	})
	if !o.noWait {
		d.waitReady(t)
	}
	return d
}

// writeConfig writes the daemon's config.yml, PROJECTS standing for its
// project directory.
func (d *daemon) writeConfig(t *testing.T, cfg string) {
	t.Helper()
	cfg = strings.ReplaceAll(cfg, "PROJECTS", filepath.Join(d.dir, "projects"))
	if err := os.WriteFile(filepath.Join(d.dir, "etc", "config.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// killTmuxServers stops the users' session hosts and tmux servers this
// daemon started: they outlive the daemon by design.
func (d *daemon) killTmuxServers() {
	run := filepath.Join(d.dir, "run")
	exec.Command("pkill", "-f", "session-host --dir "+run+"/").Run()
	socks, _ := filepath.Glob(filepath.Join(run, "users", "*", "tmux.sock"))
	for _, sock := range socks {
		exec.Command("tmux", "-S", sock, "kill-server").Run()
	}
}

// waitReady polls until the socket answers, the daemon dies, or a minute
// passes. It is a wait, not a measurement.
func (d *daemon) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			t.Fatalf("daemon exited before it was ready (%v):\n%s", d.err, d.stderr)
		default:
		}
		if c, err := net.Dial("unix", d.socket); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("daemon not ready after a minute:\n%s", d.stderr)
}

// exited waits up to limit for the daemon to exit and returns its exit code.
func (d *daemon) exited(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-d.done:
		if ee, ok := d.err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(limit):
		t.Fatalf("daemon still running after %s:\n%s", limit, d.stderr)
		return -1
	}
}

// startAs starts bin as acct in the background and stops it at cleanup.
func startAs(t *testing.T, acct account, env []string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: acct.cred}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(bin), log.String())
		}
	})
	return cmd
}

// waitFor polls cond for up to a minute; a wait, not a measurement.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tool finds a program a test needs; missing, the test skips, except under
// CI, where .ci/run installs it and its absence is a failure.
func tool(t *testing.T, name string) string {
	t.Helper()
	return testenv.Tool(t, name)
}

// syncBuffer collects a process's output while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
