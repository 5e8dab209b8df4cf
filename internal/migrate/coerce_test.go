package migrate

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/pgtest"
)

// awkwardCases are values that cannot be carried exactly: each alone must
// fail the migration by default, naming where it is and --coerce.
var awkwardCases = []struct {
	name, insert, where, orig, key string
}{
	{"NUL in a title", `INSERT INTO sessions (session_id, computer_name, title, created_at) VALUES ('s-nul', 'box', 'ti' || char(0) || 'tle', '2026-01-02 03:04:05')`,
		"session s-nul, column title", "ti\x00tle", "title"},
	{"invalid UTF-8 inside meta", `INSERT INTO sessions (session_id, computer_name, last_output_raw, created_at) VALUES ('s-utf8', 'box', CAST(X'6F6BFF' AS TEXT), '2026-01-02 03:04:05')`,
		"session s-utf8, column meta", "ok\xff", "upstream.last_output_raw"},
	{"'yes' for a flag", `INSERT INTO sessions (session_id, computer_name, initiated_by_ai, created_at) VALUES ('s-yes', 'box', 'yes', '2026-01-02 03:04:05')`,
		"session s-yes, column meta", "yes", "upstream.initiated_by_ai"},
	{"duplicate JSON keys", `INSERT INTO sessions (session_id, computer_name, adapter_metadata, created_at) VALUES ('s-dup', 'box', '{"a": 1, "a": 2}', '2026-01-02 03:04:05')`,
		"session s-dup, column meta", `{"a": 1, "a": 2}`, "upstream.adapter_metadata"},
	{"JSON \\u0000", `INSERT INTO sessions (session_id, computer_name, transcript_files, created_at) VALUES ('s-esc', 'box', '["a\u0000b"]', '2026-01-02 03:04:05')`,
		"session s-esc, column meta", `["a\u0000b"]`, "upstream.transcript_files"},
	{"empty time", `INSERT INTO sessions (session_id, computer_name, created_at, last_activity) VALUES ('s-empty', 'box', '', '2026-01-02 03:04:05')`,
		"session s-empty, column created_at", "", "created_at"},
	{"'yesterday'", `INSERT INTO sessions (session_id, computer_name, created_at, last_activity) VALUES ('s-yday', 'box', '2026-01-02 03:04:05', 'yesterday')`,
		"session s-yday, column last_activity", "yesterday", "last_activity"},
	{"text in an INTEGER column of another table", `INSERT INTO memory_observations (memory_session_id, project, type, prompt_number, created_at, created_at_epoch) VALUES ('m', 'p', 't', 'many', '2026-01-02', 1)`,
		"table memory_observations, row with rowid 1, column prompt_number", "many", "prompt_number"},
	{"NUL in another table", `INSERT INTO system_settings (key, value) VALUES ('k', 'a' || char(0) || 'b')`,
		"table system_settings, row with rowid 1, column value", "a\x00b", "value"},
}

func awkwardDB(t *testing.T, inserts ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "teleclaude.db")
	c := upstreamConn(t, p)
	if err := c.Exec("PRAGMA journal_mode = wal;" + upstreamDDL(t, "schema-451f0fb.sql")); err != nil {
		t.Fatal(err)
	}
	for _, q := range inserts {
		if err := c.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUpstreamAwkwardRefused: each value is refused by default, the error
// naming session or row, column, value and --coerce; nothing committed,
// the source unchanged; then the same database with --coerce succeeds.
func TestUpstreamAwkwardRefused(t *testing.T) {
	dsn := pgtest.DSN(t)
	for _, tc := range awkwardCases {
		t.Run(tc.name, func(t *testing.T) {
			src := awkwardDB(t, tc.insert)
			before := dirState(t, filepath.Dir(src))
			_, err := migrateT(t, src, dsn)
			if err == nil {
				t.Fatal("migrate carried a value it cannot carry exactly")
			}
			if !strings.Contains(err.Error(), tc.where) || !strings.Contains(err.Error(), "--coerce") {
				t.Errorf("error %q; want it to name %q and --coerce", err, tc.where)
			}
			if after := dirState(t, filepath.Dir(src)); after != before {
				t.Error("source changed")
			}
			if n := targetCounts(t, dsn)["sessions"]; n != 0 {
				t.Errorf("%d sessions committed", n)
			}
			var up bool
			if err := pgConn(t, dsn).QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'upstream')`).Scan(&up); err != nil || up {
				t.Errorf("schema upstream left behind: %v %v", up, err)
			}
		})
	}
	// A re-run after all those failures, into the same target, succeeds.
	if _, err := migrateT(t, awkwardDB(t, `INSERT INTO system_settings (key, value) VALUES ('k', 'v')`), dsn); err != nil {
		t.Errorf("re-run after failures: %v", err)
	}
}

// TestUpstreamCoerce: with --coerce every awkward value is carried in its
// nearest form, listed in the report, and its exact original is kept
// beside it (sessions.meta, or the upstream table's own column).
func TestUpstreamCoerce(t *testing.T) {
	var inserts []string
	for _, tc := range awkwardCases {
		inserts = append(inserts, tc.insert)
	}
	src := awkwardDB(t, inserts...)
	sum := fileSum(t, src)
	dsn := pgtest.DSN(t)
	rep, err := migrateT(t, src, dsn, func(o *Options) { o.Coerce = true })
	if err != nil {
		t.Fatalf("migrate --coerce: %v", err)
	}
	if fileSum(t, src) != sum {
		t.Error("source changed")
	}
	if rep.Coerced != int64(len(awkwardCases)) || len(rep.Coercions) != len(awkwardCases) {
		t.Errorf("%d coerced, %d listed; want %d: %+v", rep.Coerced, len(rep.Coercions), len(awkwardCases), rep.Coercions)
	}
	var out strings.Builder
	rep.Print(&out)
	for _, tc := range awkwardCases {
		if !strings.Contains(out.String(), tc.key) {
			t.Errorf("report does not list %s (%s)", tc.key, tc.name)
		}
	}
	ctx := context.Background()
	pc := pgConn(t, dsn)
	for _, tc := range awkwardCases {
		var raw []byte
		if strings.HasPrefix(tc.where, "session ") {
			id := strings.TrimPrefix(strings.Split(tc.where, ",")[0], "session ")
			if err := pc.QueryRow(ctx, `SELECT meta -> 'teleclaude_coerced' -> $2 FROM sessions WHERE id = $1`, id, tc.key).Scan(&raw); err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
		} else {
			table := strings.TrimPrefix(strings.Split(tc.where, ",")[0], "table ")
			if err := pc.QueryRow(ctx, `SELECT _teleclaude_coerced -> $1 FROM upstream.`+table, tc.key).Scan(&raw); err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
		}
		var kept map[string]string
		if err := json.Unmarshal(raw, &kept); err != nil {
			t.Errorf("%s: kept %s: %v", tc.name, raw, err)
			continue
		}
		b, err := hex.DecodeString(kept["hex"])
		if err != nil || string(b) != tc.orig {
			t.Errorf("%s: original kept as %q; want %q", tc.name, b, tc.orig)
		}
	}
	// A second run into the filled target is refused.
	if _, err := migrateT(t, src, dsn, func(o *Options) { o.Coerce = true }); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("second run: %v; want ErrTargetNotEmpty", err)
	}
	_ = os.Remove
}

// TestUpstreamNewer: a database newer than this program knows: a table,
// a sessions column and a column of another table it has never seen are
// carried all the same and listed as new.
func TestUpstreamNewer(t *testing.T) {
	src := awkwardDB(t, `ALTER TABLE sessions ADD COLUMN mood TEXT`, `CREATE TABLE future_things (id INTEGER PRIMARY KEY, what TEXT)`,
		`INSERT INTO future_things (what) VALUES ('x'), ('y')`, `ALTER TABLE mirrors ADD COLUMN rating INTEGER`,
		`INSERT INTO mirrors (session_id, computer, agent, created_at, updated_at, rating) VALUES ('s1', 'box', 'claude', 'now', 'now', 5)`,
		`INSERT INTO sessions (session_id, computer_name, mood, created_at) VALUES ('s1', 'box', 'sunny', '2026-03-01 00:00:00')`)
	dsn := pgtest.DSN(t)
	rep, err := migrateT(t, src, dsn)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(rep.Notes, "\n")
	if !strings.Contains(notes, "table future_things is not in upstream's schema") || !strings.Contains(notes, "sessions.mood is new") ||
		!strings.Contains(notes, "upstream mirrors.rating is new to this program: carried in upstream.mirrors.rating") {
		t.Errorf("notes do not list what is new:\n%s", notes)
	}
	var n int64
	var mood string
	pc := pgConn(t, dsn)
	if err := pc.QueryRow(context.Background(), `SELECT count(*) FROM upstream.future_things`).Scan(&n); err != nil || n != 2 {
		t.Errorf("upstream.future_things: %d rows, %v", n, err)
	}
	if err := pc.QueryRow(context.Background(), `SELECT meta -> 'upstream' ->> 'mood' FROM sessions WHERE id = 's1'`).Scan(&mood); err != nil || mood != "sunny" {
		t.Errorf("mood %q, %v", mood, err)
	}
	if err := pc.QueryRow(context.Background(), `SELECT rating FROM upstream.mirrors`).Scan(&n); err != nil || n != 5 {
		t.Errorf("upstream.mirrors.rating %d, %v", n, err)
	}
	if strings.Contains(notes, "memory_observations.") || strings.Contains(notes, "table mirrors ") {
		t.Errorf("known tables or columns listed as new:\n%s", notes)
	}
}

// TestUpstreamSchemaNotAllowed: a target role that may not create the
// schema upstream: a clear error saying what to grant; nothing committed.
func TestUpstreamSchemaNotAllowed(t *testing.T) {
	src := awkwardDB(t, `INSERT INTO system_settings (key, value) VALUES ('k', 'v')`,
		`INSERT INTO sessions (session_id, computer_name, created_at) VALUES ('s1', 'box', '2026-03-01 00:00:00')`)
	dsn := pgtest.DSN(t)
	pgExec(t, pgtest.AdminDSN(t), `DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_migrate_noschema') THEN
			CREATE ROLE tc_migrate_noschema LOGIN PASSWORD 'pw' IN ROLE tc_password_auth;
		END IF; END $$`)
	pgExec(t, dsn, `GRANT USAGE, CREATE ON SCHEMA public TO tc_migrate_noschema`)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("tc_migrate_noschema", "pw")
	sum := fileSum(t, src)
	_, err = migrateT(t, src, u.String())
	if err == nil || !strings.Contains(err.Error(), `cannot create the schema "upstream"`) || !strings.Contains(err.Error(), "GRANT CREATE ON DATABASE") {
		t.Errorf("err = %v; want it to say the schema cannot be created and what to grant", err)
	}
	if n := targetCounts(t, dsn)["sessions"]; n != 0 {
		t.Errorf("%d sessions committed", n)
	}
	if fileSum(t, src) != sum {
		t.Error("source changed")
	}
}
