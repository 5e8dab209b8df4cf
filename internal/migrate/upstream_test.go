package migrate

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/instruktai/teleclaude/internal/pgtest"
)

// Upstream-shaped databases, written for these tests from the columns of
// the Python TeleClaude's schema.sql at two points in its history: the
// late shape (many TEXT times, 0/1 flags, JSON in TEXT, project_path) and
// an early one (working_directory, a closed flag, ux_state JSON).
var upstreamLate = []string{
	`PRAGMA journal_mode = delete`,
	`CREATE TABLE sessions (session_id TEXT PRIMARY KEY, computer_name TEXT NOT NULL, title TEXT,
		tmux_session_name TEXT, last_input_origin TEXT NOT NULL DEFAULT 'telegram', adapter_metadata TEXT,
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, last_activity TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
		closed_at TIMESTAMP, terminal_size TEXT DEFAULT '80x24', project_path TEXT, subdir TEXT, description TEXT,
		initiated_by_ai BOOLEAN DEFAULT 0, initiator_session_id TEXT, output_message_id TEXT,
		notification_sent INTEGER DEFAULT 0, native_session_id TEXT, native_log_file TEXT, active_agent TEXT,
		thinking_mode TEXT, tui_log_file TEXT, tui_capture_started INTEGER DEFAULT 0, last_message_sent TEXT,
		last_message_sent_at TEXT, last_output_raw TEXT, last_output_at TEXT, last_output_summary TEXT,
		working_slug TEXT, lifecycle_status TEXT DEFAULT 'active', last_memory_extraction_at TEXT,
		help_desk_processed_at TEXT, relay_status TEXT, relay_discord_channel_id TEXT, relay_started_at TEXT,
		human_email TEXT, human_role TEXT, user_role TEXT DEFAULT 'admin', transcript_files TEXT DEFAULT '[]')`,
	`CREATE TABLE voice_assignments (id TEXT PRIMARY KEY, service_name TEXT, voice TEXT DEFAULT '', assigned_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
	`CREATE TABLE system_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
	`CREATE TABLE hook_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, event_type TEXT NOT NULL,
		payload TEXT NOT NULL, created_at TEXT DEFAULT CURRENT_TIMESTAMP, delivered_at TEXT)`,
	`INSERT INTO sessions (session_id, computer_name, title, tmux_session_name, adapter_metadata, created_at, last_activity,
		closed_at, project_path, subdir, initiated_by_ai, active_agent, transcript_files, last_output_raw, notification_sent)
	 VALUES ('u1', 'devbox', 'ünïcødé 🚀', 'tc_u1', '{"telegram": {"topic_id": 42}}', '2024-01-02 03:04:05',
		'2024-01-02T03:04:06.123456+00:00', '2024-01-02T04:00:00+00:00', '/home/me/work/api', 'wt-1', 1, 'claude',
		'["/a.jsonl", "/b.jsonl"]', 'last output', 0)`,
	`INSERT INTO sessions (session_id, computer_name, created_at, last_activity) VALUES ('u2', 'devbox', '2024-02-03 04:05:06', NULL)`,
	`INSERT INTO voice_assignments (id, service_name, voice) VALUES ('u1', 'elevenlabs', 'x'), ('u2', 'macos', 'y')`,
	`INSERT INTO system_settings (key, value) VALUES ('k', 'v')`,
}

var upstreamEarly = []string{
	`PRAGMA journal_mode = delete`,
	`CREATE TABLE sessions (session_id TEXT PRIMARY KEY, computer_name TEXT NOT NULL, title TEXT,
		tmux_session_name TEXT NOT NULL, origin_adapter TEXT NOT NULL DEFAULT 'telegram', adapter_metadata TEXT,
		closed BOOLEAN DEFAULT 0, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, last_activity TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
		terminal_size TEXT DEFAULT '80x24', working_directory TEXT DEFAULT '~', description TEXT, ux_state TEXT,
		initiated_by_ai BOOLEAN DEFAULT 0, UNIQUE(computer_name, tmux_session_name))`,
	`INSERT INTO sessions (session_id, computer_name, tmux_session_name, closed, created_at, last_activity, working_directory, ux_state)
	 VALUES ('e1', 'devbox', 'tc_e1', 1, '2023-05-06 07:08:09', '2023-05-06 08:00:00', '/srv/site', '{"native_log_file": "/x.log"}')`,
	`INSERT INTO sessions (session_id, computer_name, tmux_session_name, created_at, last_activity)
	 VALUES ('e2', 'devbox', 'tc_e2', '2023-05-07 07:08:09', '2023-05-07 07:08:10')`,
}

func makeUpstream(t *testing.T, stmts []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "teleclaude.db")
	db := openSQL(t, path)
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return path
}

func TestUpstreamLate(t *testing.T) {
	src := makeUpstream(t, upstreamLate)
	dsn := pgtest.DSN(t)
	sum := fileSum(t, src)
	rep, err := migrateT(t, src, dsn)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if fileSum(t, src) != sum {
		t.Error("source changed")
	}
	if !strings.Contains(rep.SourceKind, "upstream") {
		t.Errorf("source kind %q", rep.SourceKind)
	}
	wantRows := map[string]int64{"sessions": 2, "upstream.voice_assignments": 2, "upstream.system_settings": 1, "upstream.hook_outbox": 0}
	for _, tr := range rep.Tables {
		want := wantRows[tr.Name]
		if tr.SourceRows != want || tr.TargetRows != want || !tr.Verified {
			t.Errorf("%s: %d → %d rows, verified %v; want %d", tr.Name, tr.SourceRows, tr.TargetRows, tr.Verified, want)
		}
		delete(wantRows, tr.Name)
	}
	if len(wantRows) > 0 || len(rep.LeftBehind) > 0 {
		t.Errorf("tables not carried: %v; left behind %v", wantRows, rep.LeftBehind)
	}

	ctx := context.Background()
	st := targetStore(t, dsn)
	u1, err := st.GetSession(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if u1.Title != "ünïcødé 🚀" || u1.TmuxName != "tc_u1" || u1.Agent != "claude" || u1.Project != "api" ||
		u1.ProjectPath != "/home/me/work/api/wt-1" || u1.Status != "ended" || *u1.OwnerUID != 4242 || *u1.OwnerPerson != "mig" {
		t.Errorf("u1 = %+v", u1)
	}
	if want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC); !u1.CreatedAt.Equal(want) {
		t.Errorf("u1 created %s; want %s (CURRENT_TIMESTAMP text is UTC)", u1.CreatedAt, want)
	}
	if want := time.Date(2024, 1, 2, 3, 4, 6, 123456000, time.UTC); !u1.UpdatedAt.Equal(want) {
		t.Errorf("u1 updated %s; want %s", u1.UpdatedAt, want)
	}
	if u1.EndedAt == nil || !u1.EndedAt.Equal(time.Date(2024, 1, 2, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("u1 ended %v", u1.EndedAt)
	}
	var meta struct {
		Upstream map[string]any `json:"upstream"`
	}
	if err := json.Unmarshal(u1.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	up := meta.Upstream
	if up["initiated_by_ai"] != true || up["notification_sent"] != false || up["computer_name"] != "devbox" ||
		up["last_output_raw"] != "last output" || up["lifecycle_status"] != "active" {
		t.Errorf("u1 meta.upstream = %v", up)
	}
	if am, ok := up["adapter_metadata"].(map[string]any); !ok || am["telegram"] == nil {
		t.Errorf("adapter_metadata kept as %T %v; want JSON", up["adapter_metadata"], up["adapter_metadata"])
	}
	if tf, ok := up["transcript_files"].([]any); !ok || len(tf) != 2 {
		t.Errorf("transcript_files kept as %v; want the JSON array", up["transcript_files"])
	}
	u2, err := st.GetSession(ctx, "u2")
	if err != nil {
		t.Fatal(err)
	}
	if u2.Title != "" || u2.Agent != "unknown" || u2.Project != "unknown" || u2.EndedAt != nil || !u2.UpdatedAt.Equal(u2.CreatedAt) {
		t.Errorf("u2 (sparse) = %+v", u2)
	}
}

func TestUpstreamEarly(t *testing.T) {
	src := makeUpstream(t, upstreamEarly)
	dsn := pgtest.DSN(t)
	if _, err := migrateT(t, src, dsn); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	ctx := context.Background()
	st := targetStore(t, dsn)
	e1, err := st.GetSession(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if e1.ProjectPath != "/srv/site" || e1.Project != "site" || e1.EndedAt == nil || !e1.EndedAt.Equal(e1.UpdatedAt) {
		t.Errorf("e1 = %+v: want working_directory as the project, closed=1 ending it at last_activity", e1)
	}
	e2, _ := st.GetSession(ctx, "e2")
	if e2.EndedAt != nil {
		t.Errorf("e2 ended %v; want open (closed defaults to 0)", e2.EndedAt)
	}
}

// TestUpstreamMapsEveryColumn: upstream.go says where every column of our
// sessions table comes from; a new column fails here until it does.
func TestUpstreamMapsEveryColumn(t *testing.T) {
	dsn := pgtest.DSN(t)
	withSchema(t, dsn)
	ctx := context.Background()
	c := pgConn(t, dsn)
	rows, err := c.Query(ctx, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'sessions'`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range cols {
		if _, ok := upstreamSessions[col]; !ok {
			t.Errorf("sessions.%s: upstream.go's upstreamSessions does not say where it comes from in an upstream database", col)
		}
	}
}
