//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/doctor"
)

// doctor runs `teleclaude doctor --json` as acct (nil: root) with d's
// environment.
func (d *daemon) doctor(t *testing.T, acct *account) (report, result) {
	t.Helper()
	r := run(t, acct, d.env, teleBin, "doctor", "--json", "--service-user", svcUser)
	var rep doctor.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor printed no JSON report (exit %d): %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	return report{rep}, r
}

type report struct{ doctor.Report }

func (rep report) check(t *testing.T, name string) doctor.Check {
	t.Helper()
	c, ok := rep.Find(name)
	if !ok {
		t.Fatalf("no %q check in %+v", name, rep.Checks)
	}
	return c
}

// goodSetup gives d's tree the owners and modes a package would: config
// root's, secrets the service user's (group root, 0600), data the service
// user's 0750.
func goodSetup(t *testing.T, d *daemon) {
	t.Helper()
	svc := lookup(t, svcUser)
	etc := filepath.Join(d.dir, "etc")
	secrets := filepath.Join(etc, "secrets.yml")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chown(etc, 0, 0))
	must(os.WriteFile(secrets, []byte("# nothing secret yet\n"), 0o600))
	must(os.Chown(secrets, svc.uid, 0))
	must(os.Chmod(secrets, 0o600))
	must(os.Chmod(filepath.Join(d.dir, "data"), 0o750))
}

// TestDoctor: a good setup is all PASS, for root; a broken one (data owned
// by the wrong user, secrets the daemon cannot read, daemon down) names each
// problem and its fix.
func TestDoctor(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	goodSetup(t, d)

	rep, r := d.doctor(t, nil)
	for _, c := range rep.Checks {
		if c.Status != doctor.Pass {
			t.Errorf("good setup: %s %s: %s (fix: %s)", c.Status, c.Name, c.Detail, c.Fix)
		}
	}
	if !rep.OK || r.code != 0 || len(rep.Checks) < 12 {
		t.Errorf("good setup: ok %v, exit %d, %d checks", rep.OK, r.code, len(rep.Checks))
	}
	human := run(t, nil, d.env, teleBin, "doctor", "--service-user", svcUser)
	if human.code != 0 || !strings.Contains(human.stdout, "PASS  socket") || !strings.Contains(human.stdout, " 0 WARN, 0 FAIL") {
		t.Errorf("human output (exit %d):\n%s%s", human.code, human.stdout, human.stderr)
	}

	// Secrets as an older install left them, readable by the service
	// user's group: they work, and the group is told to go.
	secrets := filepath.Join(d.dir, "etc", "secrets.yml")
	svc := lookup(t, svcUser)
	os.Chown(secrets, 0, svc.gid)
	os.Chmod(secrets, 0o640)
	fix := "sudo chown " + svcUser + ":root " + secrets + " && sudo chmod 0600 " + secrets
	rep, r = d.doctor(t, nil)
	if c := rep.check(t, "secrets"); c.Status != doctor.Warn || !strings.Contains(c.Detail, "is open to its group "+svcUser) || c.Fix != fix {
		t.Errorf("secrets open to the group: %+v\nwant WARN with the fix %q", c, fix)
	}
	if c := rep.check(t, "config"); c.Status != doctor.Warn || !strings.Contains(c.Detail, "only root and the service user may read the secrets") {
		t.Errorf("config with secrets open to the group: %+v", c)
	}
	if !rep.OK || r.code != 0 {
		t.Errorf("warnings only: ok %v, exit %d", rep.OK, r.code)
	}

	data := filepath.Join(d.dir, "data")
	os.Chown(data, 0, 0)
	os.Chown(secrets, 0, 0)
	os.Chmod(secrets, 0o600)
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.exited(t, 20*time.Second)

	rep, r = d.doctor(t, nil)
	if rep.OK || r.code != 1 {
		t.Errorf("broken setup: ok %v, exit %d; want a failure", rep.OK, r.code)
	}
	want := []struct{ name, detail, fix string }{
		{"data directory", data + " is owned by root, not " + svcUser, "sudo chown " + svcUser + ":" + svcUser + " " + data},
		{"secrets", secrets + " cannot be read by the daemon's user " + svcUser, fix},
		{"socket", "the daemon is not running", "systemctl start teleclaude"},
		{"database", "as " + svcUser + ", the config does not load", ""},
	}
	for _, w := range want {
		c := rep.check(t, w.name)
		if c.Status != doctor.Fail || !strings.Contains(c.Detail, w.detail) || !strings.Contains(c.Fix, w.fix) {
			t.Errorf("%s = %+v\nwant FAIL naming %q with the fix %q", w.name, c, w.detail, w.fix)
		}
	}
}

// TestDoctorGroups: a user in the socket's group passes; one outside is
// told to join; one added after logging in is told to newgrp.
func TestDoctorGroups(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	goodSetup(t, d)

	member := lookup(t, uMember)
	rep, _ := d.doctor(t, &member)
	for _, name := range []string{"your group", "your login session", "socket", "database"} {
		if c := rep.check(t, name); c.Status != doctor.Pass {
			t.Errorf("%s as a member: %+v", name, c)
		}
	}

	outside := lookup(t, uOutside)
	rep, r := d.doctor(t, &outside)
	if c := rep.check(t, "your group"); c.Status != doctor.Fail || !strings.Contains(c.Fix, "sudo usermod -aG "+sockGroup+" "+uOutside+", then log in again") {
		t.Errorf("outsider: %+v", c)
	}
	if c := rep.check(t, "socket"); c.Status != doctor.Fail || !strings.Contains(c.Detail, "permission denied") {
		t.Errorf("outsider's socket check: %+v", c)
	}
	if r.code != 1 {
		t.Errorf("outsider: exit %d, want 1", r.code)
	}

	// In the group database, but this "login session" began before: its
	// processes lack the group.
	stale := member
	stale.cred = &syscall.Credential{Uid: uint32(member.uid), Gid: uint32(member.gid), Groups: []uint32{uint32(member.gid)}}
	rep, _ = d.doctor(t, &stale)
	if c := rep.check(t, "your group"); c.Status != doctor.Pass {
		t.Errorf("stale session, group database: %+v", c)
	}
	if c := rep.check(t, "your login session"); c.Status != doctor.Fail || !strings.Contains(c.Fix, "newgrp "+sockGroup) {
		t.Errorf("stale session: %+v", c)
	}
}
