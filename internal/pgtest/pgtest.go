// Package pgtest gives each test a fresh database on the PostgreSQL server
// that scripts/with-postgres.sh started (TELECLAUDE_TEST_PG_DSN).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// EnvDSN names the admin DSN of the test server.
const EnvDSN = "TELECLAUDE_TEST_PG_DSN"

var unsafe = regexp.MustCompile(`[^a-z0-9]+`)

// DSN creates a database for t, drops it when t ends, and returns its DSN.
// Without a server it skips, unless TELECLAUDE_TEST_REQUIRE_PG=1 (make test
// sets it) makes the missing server a failure: PostgreSQL coverage must not
// vanish quietly.
func DSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		if os.Getenv("TELECLAUDE_TEST_REQUIRE_PG") == "1" {
			t.Fatalf("%s is not set; run the tests through scripts/with-postgres.sh (make test)", EnvDSN)
		}
		t.Skipf("no PostgreSQL: %s is not set (make test starts one)", EnvDSN)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := unsafe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = "tc_" + name + "_" + hex.EncodeToString(suffix)

	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)")
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(admin, "/"+cfg.Database+"?", "/"+name+"?", 1)
}
