package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/instruktai/teleclaude/internal/store"
)

// TestMigrateAwkward: a database with every table and awkward values
// migrates with identical counts and checksums, every value lands as it
// should, the source is byte-identical afterwards (its directory too), the
// sequences continue past SQLite's, and the audit log is still append-only.
func TestMigrateAwkward(t *testing.T) {
	src, dsn := newPair(t, genOpts{transcripts: 3000, hugeBytes: 24 << 20})
	dir := filepath.Dir(src)
	before, sum := dirState(t, dir), fileSum(t, src)

	withSchema(t, dsn)
	schema := schemaDump(t, dsn)
	rep, err := migrateT(t, src, dsn, func(o *Options) { o.Batch = 1000 })
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if got := schemaDump(t, dsn); got != schema {
		t.Errorf("the target's keys, indexes, constraints or triggers differ after the migration:\nbefore:\n%s\nafter:\n%s", schema, got)
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("the source's directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if rep.SourceSHA256 == "" || !rep.OK {
		t.Errorf("report: ok %v, source sha %q", rep.OK, rep.SourceSHA256)
	}
	if got := fileSum(t, src); got != sum {
		t.Errorf("source changed: %s → %s", sum, got)
	}
	want := map[string]int64{"sessions": 4, "transcript_entries": 3000 + 3 + 1, "audit_log": 3, "session_accounts": 2, "transcript_usage": 2, "doc_owners": 2, "person_usage": 2}
	var order []string
	for _, tr := range rep.Tables {
		order = append(order, tr.Name)
		if tr.SourceRows != want[tr.Name] || tr.TargetRows != want[tr.Name] {
			t.Errorf("%s: %d source rows, %d target rows; want %d", tr.Name, tr.SourceRows, tr.TargetRows, want[tr.Name])
		}
		if !tr.Verified || tr.SourceChecksum != tr.TargetChecksum || len(tr.SourceChecksum) != 32 {
			t.Errorf("%s: verified %v, checksums %s / %s", tr.Name, tr.Verified, tr.SourceChecksum, tr.TargetChecksum)
		}
	}
	if !slices.Equal(order, []string{"audit_log", "doc_owners", "person_usage", "sessions", "transcript_entries", "transcript_usage", "session_accounts"}) {
		t.Errorf("table order %v: want referenced tables first, ties by name", order)
	}
	if got := targetCounts(t, dsn); got["sessions"] != 4 || got["transcript_entries"] != 3004 || got["audit_log"] != 3 {
		t.Errorf("target counts %v", got)
	}
	if rep.OwnerAssigned != 2 {
		t.Errorf("OwnerAssigned = %d; want 2 (s2 and s4 have no owner uid)", rep.OwnerAssigned)
	}

	ctx := context.Background()
	st := targetStore(t, dsn)
	get := func(id string) store.Session {
		t.Helper()
		s, err := st.GetSession(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	utc := func(y, mo, d, h, mi, s, us int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, us*1000, time.UTC)
	}
	tests := []struct {
		name      string
		got, want time.Time
	}{
		{"s1 created (ours)", get("s1").CreatedAt, utc(2026, 1, 2, 3, 4, 5, 123456)},
		{"s2 created (no zone: UTC)", get("s2").CreatedAt, utc(2024, 1, 2, 3, 4, 5, 0)},
		{"s2 updated (+02:00)", get("s2").UpdatedAt, utc(2024, 1, 2, 3, 4, 5, 0)},
		{"s2 ended (epoch s)", *get("s2").EndedAt, time.Unix(1700000000, 0).UTC()},
		{"s3 created (epoch ms)", get("s3").CreatedAt, time.UnixMilli(1700000000123).UTC()},
		{"s3 updated (Julian day)", get("s3").UpdatedAt, utc(2023, 2, 24, 18, 0, 0, 0)},
		{"s3 ended (date)", *get("s3").EndedAt, utc(2024, 3, 4, 0, 0, 0, 0)},
		{"s4 created (epoch µs)", get("s4").CreatedAt, time.UnixMicro(1700000000123456).UTC()},
		{"s4 updated (UTC suffix)", get("s4").UpdatedAt, utc(2024, 5, 6, 7, 8, 9, 500000)},
		{"s4 ended (nanoseconds truncated)", *get("s4").EndedAt, utc(2024, 5, 6, 7, 8, 9, 123456)},
	}
	for _, tc := range tests {
		if !tc.got.Equal(tc.want) {
			t.Errorf("%s = %s; want %s", tc.name, tc.got.Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
		}
	}
	s1, s2, s4 := get("s1"), get("s2"), get("s4")
	if s1.Title != "ünïcødé 🚀 — 日本語" || *s1.OwnerPerson != "alice" || *s1.OwnerUID != 1001 || s1.ProjectPath != "/srv/démo" || s1.OutputOffset != 4096 {
		t.Errorf("s1 = %+v", s1)
	}
	var meta map[string]any
	if err := json.Unmarshal(s1.Meta, &meta); err != nil || meta["dup"] != 2.0 || meta["n"] != 100.0 || meta["é"] != "x\ny" {
		t.Errorf("s1 meta = %s (%v)", s1.Meta, err)
	}
	if s2.OwnerUID == nil || *s2.OwnerUID != 4242 || *s2.OwnerPerson != "mig" || s2.Meta != nil || s2.ExitCode == nil || *s2.ExitCode != 0 {
		t.Errorf("s2 (unowned) = %+v: want owner mig/4242, no meta, exit code 0", s2)
	}
	if s4.Title != "a\uFFFDb\uFFFDc" || *s4.OwnerPerson != "carol" || *s4.OwnerUID != 4242 {
		t.Errorf("s4 = %+v: want NUL and invalid UTF-8 replaced, person kept, uid given", s4)
	}
	// Each value not carried as it was is listed: s4's title, s1's two
	// "dup" keys, s4's nanoseconds.
	listed := map[string]bool{}
	for _, c := range rep.Coercions {
		listed[c.Table+"."+c.Column] = true
	}
	for _, want := range []string{"sessions.title", "sessions.meta", "sessions.ended_at"} {
		if !listed[want] {
			t.Errorf("the report does not list the change to %s: %+v", want, rep.Coercions)
		}
	}
	tr, err := st.Transcript(ctx, "s3", 0, 0)
	if err != nil || len(tr) != 1 || tr[0].Content != hugeContent(24<<20) {
		t.Errorf("the huge transcript entry did not arrive intact (%d entries, %v)", len(tr), err)
	}
	tr, err = st.Transcript(ctx, "s2", 0, 0)
	if err != nil || len(tr) != 3 || tr[0].Content != "" || tr[1].Content != `\N` || !tr[1].At.Equal(time.Unix(1700000001, 0)) {
		t.Errorf("s2 transcript = %+v, %v", tr, err)
	}
	recs, err := st.ListAudit(ctx, store.AuditFilter{})
	if err != nil || len(recs) != 3 {
		t.Fatalf("audit = %+v, %v", recs, err)
	}

	// The next ids continue after SQLite's sequence, not after the highest
	// surviving row: the deleted transcript row's id is never reused.
	next := map[string]int64{}
	for _, s := range rep.Sequences {
		next[s.Table] = s.Next
	}
	if next["transcript_entries"] != 3005+1 || next["audit_log"] != 4 {
		t.Errorf("next ids %v; want transcript_entries 3006 (one deleted row), audit_log 4", next)
	}
	got, err := st.AppendAudit(ctx, store.AuditRecord{ActorUID: 1, ActorPID: 1, Action: "after"})
	if err != nil || got.ID != 4 {
		t.Errorf("append after migration: id %d, %v; want 4", got.ID, err)
	}

	// The audit log's triggers are in force on the migrated database.
	for _, q := range []string{`UPDATE audit_log SET action = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := st.DB().ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s on the migrated audit log: %v; want refused as append-only", q, err)
		}
	}

	// The report says which forms each column had.
	forms := map[string]map[string]int64{}
	for _, tr := range rep.Tables {
		for _, c := range tr.Columns {
			forms[tr.Name+"."+c.To] = c.Forms
		}
	}
	for col, f := range map[string]string{
		"sessions.created_at": formNames[fTimeNoZone], "sessions.updated_at": formNames[fTimeJulian],
		"sessions.ended_at": formNames[fTimeTruncated], "sessions.title": formNames[fTextReplaced],
		"audit_log.at": formNames[fTimeEpochS],
	} {
		if forms[col][f] != 1 {
			t.Errorf("report for %s: forms %v; want %q once", col, forms[col], f)
		}
	}
}

// TestEveryColumnCarried: every column of every table in the latest schema
// is carried with its values, and the test data sets it to more than one
// value. A migration that adds a column fails here until genColumns and
// makeSource know it, and so until its migration is proven.
func TestEveryColumnCarried(t *testing.T) {
	src, dsn := newPair(t, genOpts{transcripts: 10})
	rep, err := migrateT(t, src, dsn)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	ctx := context.Background()
	c := pgConn(t, dsn)
	rows, err := c.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'goose_db_version' ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	schema := map[string][]string{}
	for rows.Next() {
		var tb, col string
		if err := rows.Scan(&tb, &col); err != nil {
			t.Fatal(err)
		}
		schema[tb] = append(schema[tb], col)
	}
	if len(schema) != len(genColumns) {
		t.Errorf("schema tables %v; the test data knows %v", keys(schema), keys(genColumns))
	}
	carried := map[string]bool{}
	for _, tr := range rep.Tables {
		for _, cr := range tr.Columns {
			if cr.From == cr.To {
				carried[tr.Name+"."+cr.To] = true
			}
		}
	}
	for tb, cols := range schema {
		for _, col := range cols {
			if !slices.Contains(genColumns[tb], col) {
				t.Errorf("%s.%s is in the schema but the test data does not fill it: add it to genColumns and makeSource", tb, col)
			}
			if !carried[tb+"."+col] {
				t.Errorf("%s.%s is in the schema but migrate did not carry it", tb, col)
			}
			var distinct int64
			q := `SELECT count(DISTINCT ` + pgx.Identifier{col}.Sanitize() + `::text) FROM ` + pgx.Identifier{tb}.Sanitize()
			if err := c.QueryRow(ctx, q).Scan(&distinct); err != nil {
				t.Fatal(err)
			}
			if distinct < 2 {
				t.Errorf("%s.%s has %d distinct values in the target: the test data must vary it", tb, col, distinct)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestSchemaMismatch: a column that one side has and the other lacks stops
// the migration, naming it; nothing is skipped quietly.
func TestSchemaMismatch(t *testing.T) {
	src, dsn := newPair(t, genOpts{})
	withSchema(t, dsn)
	pgExec(t, dsn, `ALTER TABLE sessions ADD COLUMN extra TEXT`)
	_, err := migrateT(t, src, dsn)
	if err == nil || !strings.Contains(err.Error(), "extra only in PostgreSQL") {
		t.Errorf("migrate with an extra target column: %v; want it named", err)
	}
	assertEmpty(t, dsn)
}

// TestOldSchemaUpgradedOnCopy: a database at schema version 1 is upgraded
// on a private copy; the original stays byte-identical.
func TestOldSchemaUpgradedOnCopy(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "old.db")
	if err := store.MigrateSQLiteTo(ctx, src, 1); err != nil {
		t.Fatal(err)
	}
	db := openSQL(t, src)
	for _, q := range []string{
		`INSERT INTO sessions (id, project, agent, status, created_at, updated_at) VALUES ('old', 'p', 'a', 'exited', '2025-01-01T00:00:00.000000Z', '2025-01-01 00:00:00')`,
		`INSERT INTO audit_log (actor_uid, actor_pid, action, target_session_id, at) VALUES (1, 1, 'old.read', 'old', '2025-01-01T00:00:00.000000Z')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	// The lock file a daemon of that release left.
	unlock, err := store.LockSQLite(src, "an old daemon")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	before := dirState(t, filepath.Dir(src))
	work := t.TempDir()
	rep, err := migrateT(t, src, pgtest.DSN(t), func(o *Options) { o.WorkDir = work })
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if after := dirState(t, filepath.Dir(src)); after != before {
		t.Errorf("the original changed:\n%s\n→\n%s", before, after)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "upgraded the copy's schema from version 1") {
		t.Errorf("notes %q: want the upgrade on a copy said", rep.Notes)
	}
	if left, _ := filepath.Glob(filepath.Join(work, "*")); len(left) != 0 {
		t.Errorf("work directory not cleaned up: %v", left)
	}
	if i := slices.IndexFunc(rep.Tables, func(tr *TableReport) bool { return tr.Name == "sessions" }); i < 0 || rep.Tables[i].TargetRows != 1 {
		t.Errorf("tables %+v", rep.Tables)
	}
}

// TestMigrateTwiceRefused: a second run finds the target full and refuses,
// leaving it as it was.
func TestMigrateTwiceRefused(t *testing.T) {
	src, dsn := newPair(t, genOpts{transcripts: 5})
	if _, err := migrateT(t, src, dsn); err != nil {
		t.Fatal(err)
	}
	_, err := migrateT(t, src, dsn)
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "sessions has 4 rows") {
		t.Errorf("second run: %v; want ErrTargetNotEmpty naming the rows", err)
	}
	if got := targetCounts(t, dsn); got["sessions"] != 4 || got["transcript_entries"] != 8 {
		t.Errorf("target after the refused run: %v", got)
	}
}

// schemaDump lists the target's constraints, indexes and triggers with
// their definitions: migrate sets keys and indexes aside during COPY and
// must put back exactly what the migrations made.
func schemaDump(t testing.TB, dsn string) string {
	t.Helper()
	ctx := context.Background()
	c := pgConn(t, dsn)
	rows, err := c.Query(ctx, `
		SELECT conrelid::regclass::text || ' constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
		UNION ALL SELECT tablename || ' index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
		UNION ALL SELECT tgrelid::regclass::text || ' trigger ' || tgname || ' ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
