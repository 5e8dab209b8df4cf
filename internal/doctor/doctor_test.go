package doctor

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/instruktai/teleclaude/internal/layout"
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
		if got := canRead(&syscall.Stat_t{Uid: tt.uid, Gid: tt.gid}, tt.perm, a); got != tt.want {
			t.Errorf("canRead(%d:%d %04o) = %v, want %v", tt.uid, tt.gid, tt.perm, got, tt.want)
		}
	}
}
