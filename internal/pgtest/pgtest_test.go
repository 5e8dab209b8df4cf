package pgtest

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestDSN(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		dsn := DSN(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil {
			t.Fatalf("connect to %s: %v", dsn, err)
		}
		if want := regexp.MustCompile(`^tc_testdsn_inner_[0-9a-f]{8}$`); !want.MatchString(name) {
			t.Errorf("database = %q, want it to match %s", name, want)
		}
		if other := DSN(t); other == dsn {
			t.Errorf("two calls gave the same DSN %s", dsn)
		}
	})
	if name == "" {
		t.Fatal("the subtest did not reach the database")
	}
	admin, err := sql.Open("pgx", AdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
		t.Errorf("after the test: %d databases named %s (%v), want 0", n, name, err)
	}
}

func TestDBName(t *testing.T) {
	tests := []struct{ test, wantPrefix string }{
		{"TestX", "tc_testx_"},
		{"TestStore/postgresql", "tc_teststore_postgresql_"},
		{"Test Ünïcode/a b", "tc_test_n_code_a_b_"},
		{strings.Repeat("TestLong", 20), "tc_" + strings.Repeat("testlong", 5) + "_"},
	}
	for _, tt := range tests {
		got := dbName(tt.test)
		if !strings.HasPrefix(got, tt.wantPrefix) || len(got) != len(tt.wantPrefix)+8 || len(got) > 63 {
			t.Errorf("dbName(%q) = %q, want %q + 8 hex digits, at most 63 bytes", tt.test, got, tt.wantPrefix)
		}
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, wantHost string }{
		{"postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable", "127.0.0.1"},
		{"postgresql://u:p%40ss@db.example/other", "db.example"},
		{"host=/run/postgresql dbname=postgres user=teleclaude", "/run/postgresql"},
		{"host=/tmp user=x", "/tmp"},
	}
	for _, tt := range tests {
		got, err := WithDatabase(tt.dsn, "tc_it's")
		if err != nil {
			t.Errorf("WithDatabase(%q): %v", tt.dsn, err)
			continue
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Errorf("WithDatabase(%q) = %q, which does not parse: %v", tt.dsn, got, err)
			continue
		}
		if cfg.Database != "tc_it's" || cfg.Host != tt.wantHost {
			t.Errorf("WithDatabase(%q) = %q: database %q on %q, want tc_it's on %q", tt.dsn, got, cfg.Database, cfg.Host, tt.wantHost)
		}
	}
}

// TestNoServer runs this test binary again without a server: DSN must skip,
// and fail instead when the server is required.
func TestNoServer(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		DSN(t)
		t.Fatal("DSN returned without a server")
	}
	tests := []struct {
		name, require string
		wantFail      bool
		wantOut       string
	}{
		{"optional", "", false, "SKIP"},
		{"required", "1", true, EnvDSN + " is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.CommandContext(context.Background(), os.Args[0], "-test.run=^TestNoServer$", "-test.v")
			cmd.Env = append(os.Environ(), "PGTEST_CHILD=1", EnvDSN+"=", EnvRequire+"="+tt.require)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.wantFail || !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("child failed = %v, want %v, with %q in its output:\n%s", failed, tt.wantFail, tt.wantOut, out)
			}
		})
	}
}
