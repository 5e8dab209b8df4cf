package doctor

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/instruktai/teleclaude/internal/testenv"
)

func find(t *testing.T, r Report, name string) Check {
	t.Helper()
	c, ok := r.Find(name)
	if !ok {
		t.Fatalf("no %q check in %+v", name, r.Checks)
	}
	return c
}

// TestSingleUser runs doctor on a single-user tree of this test's own: no
// root needed. (The system layout, with its users and owners, is tested end
// to end in e2e.)
func TestSingleUser(t *testing.T) {
	dot := t.TempDir()
	run := filepath.Join(t.TempDir(), "run")
	os.Mkdir(run, 0o700)
	p := layout.Paths{Mode: layout.SingleUser, ConfigFile: filepath.Join(dot, "config.yml"), SecretsFile: filepath.Join(dot, "secrets.yml"),
		DataDir: dot, RunDir: run, Socket: filepath.Join(run, "teleclaude.sock")}
	os.Chmod(dot, 0o700)
	os.WriteFile(p.SecretsFile, []byte("database: {password: x}\n"), 0o600)
	asked := false
	s := Setup{Paths: p, Decision: layout.Decision{Mode: layout.SingleUser, Reason: "test"}, Getenv: func(string) string { return "" },
		Caller: CurrentCaller(), Database: func(context.Context) Check {
			asked = true
			return DatabaseCheck(context.Background(), p, func(string) string { return "" })
		}}

	r := Run(context.Background(), s)
	for _, name := range []string{"mode", "config", "config directory", "secrets", "data directory", "run directory", "database file"} {
		if c := find(t, r, name); c.Status != Pass {
			t.Errorf("%s: %+v, want PASS", name, c)
		}
	}
	if c := find(t, r, "socket"); c.Status != Fail || !strings.Contains(c.Detail, "the daemon is not running") || !strings.Contains(c.Fix, "teleclaude serve") {
		t.Errorf("socket with no daemon: %+v", c)
	}
	if c := find(t, r, "database"); !asked || c.Status != Pass || !strings.Contains(c.Detail, "not created yet") {
		t.Errorf("database with no daemon: asked %v, %+v", asked, c)
	}
	if r.OK {
		t.Error("report OK with a failed check")
	}

	os.Chmod(run, 0o755)
	os.Chmod(p.SecretsFile, 0o644)
	r = Run(context.Background(), s)
	if c := find(t, r, "run directory"); c.Status != Fail || !strings.Contains(c.Fix, "chmod 0700 "+run) {
		t.Errorf("open run directory: %+v", c)
	}
	if c := find(t, r, "secrets"); c.Status != Warn || !strings.Contains(c.Fix, "chmod 0600 "+p.SecretsFile) {
		t.Errorf("readable secrets: %+v", c)
	}
	os.Chmod(p.SecretsFile, 0o640)
	r = Run(context.Background(), s)
	if c := find(t, r, "secrets"); c.Status != Warn || !strings.Contains(c.Detail, "is open to its group") || !strings.Contains(c.Fix, "chmod 0600 "+p.SecretsFile) {
		t.Errorf("secrets open to the group: %+v", c)
	}
}

// TestSystemSecrets: in system mode the secrets are the daemon's, group
// root, 0600. What an older install left (root, the daemon's group, 0640)
// works but lets the group in, which is every user of the socket: a WARN
// with the one command that puts it right.
func TestSystemSecrets(t *testing.T) {
	testenv.Root(t, "the cases give the file to other users")
	daemon, err := lookupAccount("nobody")
	if err != nil {
		t.Skip("no user nobody to play the daemon")
	}
	dir := t.TempDir()
	p := layout.Paths{Mode: layout.System, ConfigFile: filepath.Join(dir, "config.yml"), SecretsFile: filepath.Join(dir, "secrets.yml")}
	f := p.SecretsFile
	os.WriteFile(f, []byte("# none\n"), 0o600)
	fix := "sudo chown nobody:" + root.group + " " + f + " && sudo chmod 0600 " + f
	tests := []struct {
		uid, gid      int
		mode          os.FileMode
		status        Status
		detail, fixes string
	}{
		{daemon.uid, 0, 0o600, Pass, "(nobody:" + root.group + " 0600)", ""},
		{daemon.uid, daemon.gid, 0o400, Pass, "", ""},
		{0, daemon.gid, 0o640, Warn, "is open to its group " + daemon.group + " (mode 0640)", fix},
		{daemon.uid, 0, 0o644, Warn, "is open to every user (mode 0644)", "sudo chmod 0600 " + f},
		{0, 0, 0o600, Fail, "cannot be read by the daemon's user nobody", fix},
		{4242, 0, 0o604, Fail, "is owned by 4242, not nobody", fix},
		{daemon.uid, 0, 0o620, Fail, "is writable by others", "sudo chmod 0600 " + f},
	}
	for _, tt := range tests {
		os.Chown(f, tt.uid, tt.gid)
		os.Chmod(f, tt.mode)
		var c Check
		for _, fc := range files(Setup{Paths: p}, nil, daemon) {
			if fc.Name == "secrets" {
				c = fc
			}
		}
		if c.Status != tt.status || !strings.Contains(c.Detail, tt.detail) || c.Fix != tt.fixes {
			t.Errorf("%d:%d %04o: %+v\nwant %s naming %q with the fix %q", tt.uid, tt.gid, tt.mode, c, tt.status, tt.detail, tt.fixes)
		}
	}
}

// TestLoginSession: in the group database but not in this session's groups
// is the user who was added after logging in.
func TestLoginSession(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		t.Skip("root needs no group; the e2e tests cover members as real users")
	}
	g, err := user.LookupGroupId(me.Gid)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(me.Gid)
	stale := membership(g.Name, Caller{UID: os.Getuid(), Name: me.Username}, nil)
	if len(stale) != 2 || stale[0].Status != Pass || stale[1].Status != Fail || !strings.Contains(stale[1].Fix, "newgrp "+g.Name) {
		t.Errorf("stale session: %+v", stale)
	}
	fresh := membership(g.Name, Caller{UID: os.Getuid(), Name: me.Username, Session: []int{gid}}, nil)
	if len(fresh) != 2 || fresh[1].Status != Pass {
		t.Errorf("fresh session: %+v", fresh)
	}
}

func TestCanRead(t *testing.T) {
	a := &account{uid: 1001, gids: []int{1001, 990}}
	tests := []struct {
		uid, gid uint32
		perm     os.FileMode
		want     bool
	}{
		{1001, 0, 0o400, true},
		{1001, 0, 0o040, false}, // the owner's bits decide for the owner
		{0, 990, 0o640, true},
		{0, 0, 0o640, false},
		{0, 0, 0o644, true},
		{0, 990, 0o604, false}, // the group's bits decide for the group
	}
	for _, tt := range tests {
		if got := canRead(fileown.Owner{UID: int(tt.uid), GID: int(tt.gid)}, tt.perm, a); got != tt.want {
			t.Errorf("canRead(%d:%d %04o) = %v, want %v", tt.uid, tt.gid, tt.perm, got, tt.want)
		}
	}
}

// TestPostgresFixNamesThePort: a config that points at a port where no
// PostgreSQL answers, beside one where the test server does, gets a fix
// that names the live port.
func TestPostgresFixNamesThePort(t *testing.T) {
	pgtest.AdminDSN(t) // skips without the test server, or fails when it is required
	dir := os.Getenv("TELECLAUDE_TEST_PG_SOCKET_DIR")
	entries, _ := os.ReadDir(dir)
	live := ""
	for _, e := range entries {
		if n, ok := strings.CutPrefix(e.Name(), ".s.PGSQL."); ok && !strings.HasSuffix(n, ".lock") {
			live = n
		}
	}
	if live == "" {
		t.Fatalf("no PostgreSQL socket in %s", dir)
	}
	fix := postgresFix(config.Database{Engine: "postgresql", Host: dir, Port: 1})
	if !strings.Contains(fix, "nothing answers on port 1") || !strings.Contains(fix, "on port "+live) {
		t.Errorf("fix = %q, want port %s named", fix, live)
	}
	if fix := postgresFix(config.Database{Engine: "postgresql", Host: t.TempDir(), Port: 5432}); !strings.Contains(fix, "no PostgreSQL answers") {
		t.Errorf("fix with no server = %q", fix)
	}
}
