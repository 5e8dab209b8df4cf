package setupdb

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// server is the test cluster of scripts/with-postgres.sh, reached over its
// socket as setup-db reaches a real one.
func server(t *testing.T) (Target, *pgx.Conn) {
	t.Helper()
	admin := pgtest.AdminDSN(t)
	dir := os.Getenv("TELECLAUDE_TEST_PG_SOCKET_DIR")
	u, err := url.Parse(admin)
	if err != nil || dir == "" {
		t.Fatalf("test server: DSN %v, socket dir %q", err, dir)
	}
	port, _ := strconv.Atoi(u.Port())
	name := "tc_setupdb_" + strconv.Itoa(os.Getpid()) + "_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	if len(name) > 60 {
		name = name[:60]
	}
	tg := Target{SocketDir: dir, Port: port, Superuser: "postgres", Role: name, DBName: name}
	conn, err := pgx.Connect(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
		conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident(name))
		conn.Close(ctx)
	})
	return tg, conn
}

// TestCreateTwice: the first run creates, the second finds, both succeed,
// and the role then gets in without a password.
func TestCreateTwice(t *testing.T) {
	tg, admin := server(t)
	ctx := context.Background()
	first, err := Create(ctx, tg)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	want := []string{"created role " + tg.Role, "created database " + tg.DBName + " owned by " + tg.Role, "revoked PUBLIC's CONNECT and TEMPORARY"}
	if len(first) != 3 {
		t.Fatalf("first run steps = %+v", first)
	}
	for i, w := range want {
		if !strings.HasPrefix(first[i].Action, w) || !first[i].Changed {
			t.Errorf("first run step %d = %+v, want %q (changed)", i, first[i], w)
		}
	}
	second, err := Create(ctx, tg)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if len(second) != 2 || second[0].Action != "role "+tg.Role+" exists" || second[1].Action != "database "+tg.DBName+" exists, owned by "+tg.Role ||
		second[0].Changed || second[1].Changed {
		t.Errorf("second run steps = %+v, want both found unchanged", second)
	}
	var login, public bool
	admin.QueryRow(ctx, "SELECT rolcanlogin, has_database_privilege('public', $2, 'CONNECT') FROM pg_roles WHERE rolname = $1", tg.Role, tg.DBName).Scan(&login, &public)
	if !login || public {
		t.Errorf("role can log in: %v, PUBLIC may connect: %v; want true, false", login, public)
	}
	v, err := Verify(ctx, tg)
	if err != nil || !strings.Contains(v.Action, tg.Role+" connects to "+tg.DBName) {
		t.Errorf("Verify = %+v, %v", v, err)
	}
}

func TestCreateRepairsAndRefuses(t *testing.T) {
	tg, admin := server(t)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE ROLE "+ident(tg.Role)+" NOLOGIN"); err != nil {
		t.Fatal(err)
	}
	steps, err := Create(ctx, tg)
	if err != nil || !strings.Contains(steps[0].Action, "existed without LOGIN; gave it LOGIN") {
		t.Errorf("NOLOGIN role: %+v, %v", steps, err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident(tg.DBName)+" OWNER TO postgres"); err != nil {
		t.Fatal(err)
	}
	_, err = Create(ctx, tg)
	if err == nil || !strings.Contains(err.Error(), "exists and belongs to postgres, not "+tg.Role) || !strings.Contains(err.Error(), "ALTER DATABASE") {
		t.Errorf("foreign database: err = %v, want a refusal naming the fix", err)
	}
}

func TestVerifyFails(t *testing.T) {
	tg, _ := server(t)
	_, err := Verify(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), tg.Role+" cannot connect to "+tg.DBName) {
		t.Errorf("Verify before Create: err = %v", err)
	}
}

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	tg := Target{SocketDir: dir, Port: 5432}
	if err := Probe(tg); !errors.Is(err, ErrNoServer) {
		t.Errorf("no socket: %v, want ErrNoServer", err)
	}
	// A socket left behind by a server that is gone.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, ".s.PGSQL.5432"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if err := Probe(tg); !errors.Is(err, ErrNoServer) {
		t.Errorf("stale socket: %v, want ErrNoServer", err)
	}
	live, err := net.Listen("unix", filepath.Join(dir, ".s.PGSQL.5433"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := Probe(Target{SocketDir: dir, Port: 5433}); err != nil {
		t.Errorf("live socket: %v", err)
	}
}

// TestDiscover finds the test server on its port, which is never 5432,
// from its socket file alone; a directory with no live socket finds none.
func TestDiscover(t *testing.T) {
	tg, _ := server(t)
	if got := Discover(tg.SocketDir); !slices.Contains(got, tg.Port) {
		t.Errorf("Discover(%s) = %v, want it to hold %d", tg.SocketDir, got, tg.Port)
	}
	dead := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dead, ".s.PGSQL.5499"))
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // the file may stay behind, as a crashed server's does
	if got := Discover(dead); len(got) != 0 {
		t.Errorf("Discover of a directory without a server = %v", got)
	}
	if line := tg.ConfigLine(); !strings.Contains(line, "port: "+strconv.Itoa(tg.Port)) {
		t.Errorf("ConfigLine() = %q, want the port", line)
	}
}
