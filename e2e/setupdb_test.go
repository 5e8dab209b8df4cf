//go:build linux

package e2e

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// peerDB is the database that scripts/with-postgres.sh's server admits
// over its socket with peer authentication only, as a Debian server does.
const peerDB = "tc_peer_auth"

// TestSetupDB runs `teleclaude setup-db` as root twice against the real
// server, then starts the daemon as the service user on the database it made,
// with no password and no DSN: peer authentication over the socket.
func TestSetupDB(t *testing.T) {
	requireRoot(t)
	admin := pgtest.AdminDSN(t)
	sockDir := os.Getenv("TELECLAUDE_TEST_PG_SOCKET_DIR")
	cfg, err := pgx.ParseConfig(admin)
	if err != nil || sockDir == "" {
		t.Fatalf("test server: %v, socket dir %q", err, sockDir)
	}
	port := strconv.Itoa(int(cfg.Port))
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+peerDB+" WITH (FORCE)")
		conn.Exec(ctx, `DROP ROLE IF EXISTS "`+svcUser+`"`)
	})
	args := []string{"setup-db", "--socket-dir", sockDir, "--port", port, "--service-user", svcUser, "--dbname", peerDB}

	first := run(t, nil, nil, teleBin, args...)
	if first.code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	for _, w := range []string{"created role " + svcUser, "created database " + peerDB + " owned by " + svcUser,
		"checked: " + svcUser + " connects to " + peerDB + " over " + sockDir + " without a password"} {
		if !strings.Contains(first.stdout, w) {
			t.Errorf("first run does not say %q:\n%s", w, first.stdout)
		}
	}
	second := run(t, nil, nil, teleBin, append(args, "--json")...)
	rep := decode[struct {
		PostgreSQL string `json:"postgresql"`
		Steps      []struct {
			Action  string `json:"action"`
			Changed bool   `json:"changed"`
		} `json:"steps"`
	}](t, second)
	if rep.PostgreSQL != "present" || len(rep.Steps) != 4 || rep.Steps[0].Action != "role "+svcUser+" exists" ||
		rep.Steps[1].Action != "database "+peerDB+" exists, owned by "+svcUser || rep.Steps[0].Changed || rep.Steps[1].Changed ||
		!strings.HasPrefix(rep.Steps[2].Action, "checked: ") || !strings.Contains(rep.Steps[3].Action, "port: "+port+",") {
		t.Errorf("second run = %+v, want everything found and checked, then the config line with its port", rep)
	}

	// Peer authentication is real: root, as the role, is refused.
	conn, err := pgx.Connect(context.Background(), "host="+sockDir+" port="+port+" user="+svcUser+" dbname="+peerDB+" sslmode=disable")
	if err == nil {
		conn.Close(context.Background())
		t.Error("root connected as " + svcUser + ": peer authentication is not in force, so the test proves nothing")
	} else if !strings.Contains(err.Error(), "Peer authentication failed") {
		t.Errorf("root as %s: %v, want a peer authentication failure", svcUser, err)
	}

	// The daemon, as the service user, uses the database with the config's
	// own settings: no password, no DSN.
	d := startDaemon(t, daemonOpts{extraEnv: []string{"TELECLAUDE_DB_ENGINE=postgresql", "TELECLAUDE_DB_HOST=" + sockDir,
		"TELECLAUDE_DB_PORT=" + port, "TELECLAUDE_DB_NAME=" + peerDB, "TELECLAUDE_DB_USER=" + svcUser}})
	st := decode[apitype.Status](t, d.telec(t, lookup(t, uMember), "status", "--json"))
	if st.Database.Engine != "postgresql" || st.Database.SchemaVersion < 1 {
		t.Errorf("status = %+v, want a migrated PostgreSQL", st.Database)
	}
}

func TestSetupDBWithoutServer(t *testing.T) {
	requireRoot(t)
	empty := t.TempDir()
	args := []string{"setup-db", "--socket-dir", empty, "--service-user", svcUser}
	r := run(t, nil, nil, teleBin, args...)
	if r.code != 1 || !strings.Contains(r.stderr, "no local PostgreSQL at "+empty+"/.s.PGSQL.5432") {
		t.Errorf("without a server: exit %d, %s", r.code, r.stderr)
	}
	r = run(t, nil, nil, teleBin, append(args, "--if-available")...)
	if r.code != 0 || !strings.Contains(r.stdout, "no local PostgreSQL at "+empty+"/.s.PGSQL.5432; nothing to do") || r.stderr != "" {
		t.Errorf("--if-available without a server: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, nil, teleBin, append(args, "--port", "0")...)
	if r.code != 2 {
		t.Errorf("bad port: exit %d, want 2", r.code)
	}
}

func TestSetupDBNeedsRoot(t *testing.T) {
	requireRoot(t)
	sockDir := os.Getenv("TELECLAUDE_TEST_PG_SOCKET_DIR")
	cfg, err := pgx.ParseConfig(pgtest.AdminDSN(t))
	if err != nil || sockDir == "" {
		t.Fatalf("test server: %v, socket dir %q", err, sockDir)
	}
	member := lookup(t, uMember)
	r := run(t, &member, nil, teleBin, "setup-db", "--socket-dir", sockDir, "--port", strconv.Itoa(int(cfg.Port)), "--service-user", svcUser, "--dbname", peerDB)
	if r.code != 1 || !strings.Contains(r.stderr, "setup-db must run as root") {
		t.Errorf("as %s: exit %d, %s", uMember, r.code, r.stderr)
	}
}

// TestSetupDBFindsThePort: with no --port, setup-db finds the local server
// on the port it listens on (the test server's is never 5432) and ends with
// the database: line for config.yml, port: included.
func TestSetupDBFindsThePort(t *testing.T) {
	requireRoot(t)
	admin := pgtest.AdminDSN(t)
	sockDir := os.Getenv("TELECLAUDE_TEST_PG_SOCKET_DIR")
	cfg, err := pgx.ParseConfig(admin)
	if err != nil || sockDir == "" {
		t.Fatalf("test server: %v, socket dir %q", err, sockDir)
	}
	port := strconv.Itoa(int(cfg.Port))
	t.Cleanup(func() {
		ctx := context.Background()
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+peerDB+" WITH (FORCE)")
			conn.Exec(ctx, `DROP ROLE IF EXISTS "`+svcUser+`"`)
			conn.Close(ctx)
		}
	})
	r := run(t, nil, nil, teleBin, "setup-db", "--socket-dir", sockDir, "--service-user", svcUser, "--dbname", peerDB)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{"found PostgreSQL in " + sockDir + " on port " + port, "created database " + peerDB,
		"database: {engine: postgresql, host: " + sockDir + ", port: " + port + ", dbname: " + peerDB + ", user: " + svcUser + "}"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("setup-db does not say %q:\n%s", w, r.stdout)
		}
	}
}
