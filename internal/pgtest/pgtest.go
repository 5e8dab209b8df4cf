// Package pgtest gives each test a fresh database on the PostgreSQL server
// that scripts/with-postgres.sh started (TELECLAUDE_TEST_PG_DSN).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
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

// EnvRequire, set to 1, turns a missing server from a skip into a failure.
const EnvRequire = "TELECLAUDE_TEST_REQUIRE_PG"

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// DSN creates a database for t, drops it when t ends, and returns its DSN.
// Without a server it skips, unless TELECLAUDE_TEST_REQUIRE_PG=1 (make test
// sets it) makes the missing server a failure: PostgreSQL coverage must not
// vanish quietly.
func DSN(t testing.TB) string {
	t.Helper()
	admin := AdminDSN(t)
	name := dbName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a test that failed midway may leave connections open.
		if err := adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := WithDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// AdminDSN returns the test server's superuser DSN, skipping or failing t
// like DSN when there is none. Tests that need roles use it.
func AdminDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set and %s=1: run the tests through scripts/with-postgres.sh (make test does)", EnvDSN, EnvRequire)
		}
		t.Skipf("no PostgreSQL: %s is not set (scripts/with-postgres.sh or make test starts one)", EnvDSN)
	}
	return admin
}

// WithDatabase returns dsn pointing at database name instead, whether dsn
// is a URL or keyword/value.
func WithDatabase(dsn, name string) (string, error) {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", err
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword/value form the last dbname wins.
	return dsn + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name) + "'", nil
}

// dbName makes a database name from a test name: tc_<name>_<random>, within
// PostgreSQL's 63 bytes, unique across parallel packages and reruns.
func dbName(test string) string {
	name := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(test), "_"), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	return "tc_" + name + "_" + hex.EncodeToString(randomBytes(4))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}

func adminExec(ctx context.Context, dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
