package migrate

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/ncruces/go-sqlite3"
)

// UpstreamSchema is the PostgreSQL schema that receives every upstream
// table without a counterpart here, whole, under its own name: nothing
// stays behind, and later features can read it.
const UpstreamSchema = "upstream"

// coercedColumn is added to each table of the upstream schema under
// --coerce: per row, the exact SQLite value of each column that was
// carried in its nearest form instead.
const coercedColumn = "_teleclaude_coerced"

// knownUpstreamColumns are the tables other than sessions in upstream's
// schema up to 451f0fb (2026-01 to HEAD), with their columns; any other
// table or column is carried as well, and listed as new.
var knownUpstreamColumns = map[string][]string{
	"agent_availability":        {"agent", "available", "degraded_until", "reason", "unavailable_until"},
	"conversation_link_members": {"computer_name", "joined_at", "link_id", "participant_name", "participant_number", "participant_role", "session_id"},
	"conversation_links":        {"closed_at", "created_at", "created_by_session_id", "link_id", "metadata_json", "mode", "status", "updated_at"},
	"hook_outbox":               {"attempt_count", "created_at", "delivered_at", "event_type", "id", "last_error", "locked_at", "next_attempt_at", "payload", "session_id"},
	"inbound_queue":             {"actor_avatar_url", "actor_id", "actor_name", "attempt_count", "content", "created_at", "id", "last_error", "locked_at", "message_type", "next_retry_at", "origin", "payload_json", "processed_at", "session_id", "source_channel_id", "source_message_id", "status"},
	"memory_manual_sessions":    {"created_at_epoch", "memory_session_id", "project"},
	"memory_observations":       {"concepts", "created_at", "created_at_epoch", "discovery_tokens", "facts", "files_modified", "files_read", "id", "identity_key", "memory_session_id", "narrative", "project", "prompt_number", "subtitle", "title", "type"},
	"memory_summaries":          {"completed", "created_at", "created_at_epoch", "id", "investigated", "learned", "memory_session_id", "next_steps", "project", "request"},
	"mirror_tombstones":         {"agent", "created_at", "file_mtime", "file_size", "source_identity", "transcript_path"},
	"mirrors":                   {"agent", "computer", "conversation_text", "created_at", "id", "message_count", "metadata", "project", "session_id", "source_identity", "timestamp_end", "timestamp_start", "title", "updated_at"},
	"notification_outbox":       {"attempt_count", "channel", "content", "created_at", "delivered_at", "delivery_channel", "file_path", "id", "last_error", "locked_at", "next_attempt_at", "recipient_email", "status"},
	"operations":                {"attempt_count", "caller_session_id", "client_request_id", "completed_at", "created_at", "cwd", "error_text", "heartbeat_at", "kind", "operation_id", "payload_json", "progress_decision", "progress_phase", "progress_reason", "result_text", "slug", "started_at", "state", "updated_at"},
	"pending_message_deletions": {"created_at", "deletion_type", "id", "message_id", "session_id"},
	"schema_migrations":         {"applied_at", "version"},
	"session_listeners":         {"caller_session_id", "caller_tmux_session", "registered_at", "target_session_id"},
	"session_tokens":            {"expires_at", "issued_at", "principal", "revoked_at", "role", "session_id", "token"},
	"system_settings":           {"key", "updated_at", "value"},
	"terminal_outbox":           {"attempt_count", "created_at", "delivered_at", "event_type", "id", "last_error", "locked_at", "metadata", "next_attempt_at", "payload", "request_id", "response"},
	"voice_assignments":         {"assigned_at", "elevenlabs_id", "id", "macos_voice", "openai_voice", "service_name", "voice", "voice_name"},
	"webhook_contracts":         {"active", "contract_json", "created_at", "id", "source", "updated_at"},
	"webhook_outbox":            {"attempt_count", "contract_id", "created_at", "delivered_at", "event_json", "id", "last_error", "locked_at", "next_attempt_at", "status", "target_secret", "target_url"},
}

// rawCol is a column of an upstream table copied as it is.
type rawCol struct {
	name, declared string
	aff            string // SQLite's affinity of the declared type
	pgType         string
	isBool         bool
}

// pgTypeFor maps a declared SQLite type to the PostgreSQL type that holds
// what SQLite stores under its affinity exactly. Upstream's TIMESTAMP
// columns hold text (CURRENT_TIMESTAMP or isoformat()) and stay text, as
// in its TEXT time columns: their values are carried verbatim.
func pgTypeFor(declared string) (aff, pg string, isBool bool) {
	aff = affinityOf(declared)
	switch aff {
	case "INTEGER":
		return aff, "bigint", false
	case "TEXT":
		return aff, "text", false
	case "REAL":
		return aff, "double precision", false
	case "BLOB":
		return aff, "bytea", false
	}
	if strings.Contains(strings.ToUpper(declared), "BOOL") {
		return aff, "boolean", true
	}
	return aff, "text", false
}

// UpstreamType is the PostgreSQL type an upstream column of the declared
// SQLite type is copied as (for the benchmark's reference pipelines).
func UpstreamType(declared string) string {
	_, pg, _ := pgTypeFor(declared)
	return pg
}

// planUpstreamTables plans one table of the upstream schema for every
// ordinary source table other than sessions.
func planUpstreamTables(src *source, o Options, rep *Report) ([]*tablePlan, error) {
	var plans []*tablePlan
	for _, t := range src.tables {
		if t == "sessions" || internalTable(t) {
			continue
		}
		tp := &tablePlan{schema: UpstreamSchema, name: t, report: &TableReport{Name: UpstreamSchema + "." + t, From: t + " (upstream, copied whole)"}}
		st, _, err := src.conn.Prepare(`SELECT name, type FROM pragma_table_info(?) ORDER BY cid`)
		if err != nil {
			return nil, fmt.Errorf("source %s: columns of %s: %w", src.path, t, explainSQLite(err))
		}
		st.BindText(1, t)
		var defs []string
		for st.Step() {
			rc := &rawCol{name: st.ColumnText(0), declared: st.ColumnText(1)}
			rc.aff, rc.pgType, rc.isBool = pgTypeFor(rc.declared)
			tp.raw = append(tp.raw, rc)
			cr := &ColumnReport{To: rc.name, Type: rc.pgType, From: fmt.Sprintf("%s %s (%s affinity)", rc.name, rc.declared, rc.aff), Action: "carried exactly"}
			tp.report.Columns = append(tp.report.Columns, cr)
			tp.cols = append(tp.cols, &colPlan{name: rc.name, pgType: rc.pgType, report: cr})
			defs = append(defs, pgx.Identifier{rc.name}.Sanitize()+" "+rc.pgType)
		}
		err = st.Err()
		st.Close()
		if err != nil {
			return nil, fmt.Errorf("source %s: columns of %s: %w", src.path, t, explainSQLite(err))
		}
		if o.Coerce {
			cr := &ColumnReport{To: coercedColumn, Type: "jsonb", From: "—", Action: "the exact source value of each coerced column of the row"}
			tp.report.Columns = append(tp.report.Columns, cr)
			tp.cols = append(tp.cols, &colPlan{name: coercedColumn, pgType: "jsonb", kind: kJSON, report: cr})
			defs = append(defs, pgx.Identifier{coercedColumn}.Sanitize()+" jsonb")
		}
		tp.create = `CREATE TABLE ` + pgx.Identifier{UpstreamSchema, t}.Sanitize() + ` (` + strings.Join(defs, ", ") + `)`
		if tp.total, err = src.count(t); err != nil {
			return nil, err
		}
		if known, ok := knownUpstreamColumns[t]; !ok {
			rep.Notes = append(rep.Notes, fmt.Sprintf("table %s is not in upstream's schema as this program knows it (up to 451f0fb): carried whole to %s.%s all the same", t, UpstreamSchema, t))
		} else {
			for _, c := range tp.raw {
				if !slices.Contains(known, c.name) {
					rep.Notes = append(rep.Notes, fmt.Sprintf("upstream %s.%s is new to this program: carried in %s.%s.%s", t, c.name, UpstreamSchema, t, c.name))
				}
			}
		}
		var notes []string
		if tp.keys, tp.indexes, notes, err = upstreamKeys(src, tp); err != nil {
			return nil, err
		}
		for _, k := range tp.keys {
			tp.report.Keys = append(tp.report.Keys, k.name+" "+k.def)
		}
		for _, k := range tp.indexes {
			tp.report.Keys = append(tp.report.Keys, k.name)
		}
		for _, n := range notes {
			rep.Notes = append(rep.Notes, UpstreamSchema+"."+t+": "+n)
		}
		tp.open = rawReaderOf(src, tp, o, rep)
		tp.verifyRow = verifyRawRow(tp, o.Coerce)
		plans = append(plans, tp)
	}
	return plans, nil
}

// rawReader reads an upstream table column for column and sends each
// value as the PostgreSQL type of its affinity, unchanged; the checksum is
// taken over the SQLite values as read, before any conversion.
type rawReader struct {
	src    *source
	tp     *tablePlan
	st     *sqlite3.Stmt
	vals   []any
	coerce bool
	rep    *Report
	canon  []byte
	orig   map[string]any
	mangle func(table, column string, v any) any
}

func rawReaderOf(src *source, tp *tablePlan, o Options, rep *Report) func() (rowReader, error) {
	return func() (rowReader, error) {
		var names []string
		for _, c := range tp.raw {
			names = append(names, quoteSQLite(c.name))
		}
		q := `SELECT ` + strings.Join(names, ", ") + `, _rowid_ FROM ` + quoteSQLite(tp.name)
		if hasNoRowid(src, tp.name) {
			q = `SELECT ` + strings.Join(names, ", ") + `, NULL FROM ` + quoteSQLite(tp.name)
		}
		st, _, err := src.conn.Prepare(q)
		if err != nil {
			return nil, fmt.Errorf("source %s: read %s: %w", src.path, tp.name, explainSQLite(err))
		}
		return &rawReader{src: src, tp: tp, st: st, vals: make([]any, len(tp.cols)), coerce: o.Coerce, rep: rep, mangle: o.mangle}, nil
	}
}

func hasNoRowid(src *source, table string) bool {
	sqls, err := src.strings(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, table)
	return err == nil && len(sqls) == 1 && strings.Contains(strings.ToUpper(sqls[0]), "WITHOUT ROWID")
}

func (r *rawReader) next() (bool, error) {
	if !r.st.Step() {
		if err := r.st.Err(); err != nil {
			return false, fmt.Errorf("source %s: read %s: %w", r.src.path, r.tp.name, explainSQLite(err))
		}
		return false, nil
	}
	r.canon = r.canon[:0]
	r.orig = nil
	for i, c := range r.tp.raw {
		v := readValue(r.st, i)
		r.canon = appendSQLiteValue(r.canon, v)
		out, nearest, ok := carryRaw(c, v)
		if !ok {
			where := fmt.Sprintf("table %s, row with rowid %s, column %s (%s)", r.tp.name, r.st.ColumnText(len(r.tp.raw)), c.name, c.pgType)
			if !r.coerce {
				return false, fmt.Errorf("source %s: %s: %s cannot be carried exactly; give --coerce to carry it as %s, with the original kept in %s.%s.%s", r.src.path, where, describeValue(v), describeAny(nearest), UpstreamSchema, r.tp.name, coercedColumn)
			}
			if r.orig == nil {
				r.orig = map[string]any{}
			}
			r.orig[c.name] = originalOf(v)
			r.rep.addCoercion(Coercion{Table: UpstreamSchema + "." + r.tp.name, Row: r.st.ColumnText(len(r.tp.raw)), Column: c.name, From: describeValue(v), To: describeAny(nearest),
				Kept: fmt.Sprintf("%s.%s.%s", UpstreamSchema, r.tp.name, coercedColumn)})
			out = nearest
		}
		if r.mangle != nil {
			out = r.mangle(r.tp.name, c.name, out)
		}
		r.vals[i] = out
	}
	if r.coerce {
		if r.orig == nil {
			r.vals[len(r.tp.raw)] = nil
		} else {
			b, err := json.Marshal(r.orig)
			if err != nil {
				return false, err
			}
			r.vals[len(r.tp.raw)] = json.RawMessage(b)
		}
	}
	return true, nil
}

func (r *rawReader) values() []any { return r.vals }
func (r *rawReader) close()        { r.st.Close() }

// canonRow is the checksum's rendering of the source row as read.
func (r *rawReader) canonRow(buf []byte) ([]byte, error) { return append(buf, r.canon...), nil }

// carryRaw gives the value PostgreSQL receives for v, or ok false with the
// nearest value when it cannot be carried exactly.
func carryRaw(c *rawCol, v value) (out, nearest any, ok bool) {
	if v.typ == sqlite3.NULL {
		return nil, nil, true
	}
	switch c.pgType {
	case "bigint":
		if v.typ == sqlite3.INTEGER {
			return v.i, nil, true
		}
		if v.typ == sqlite3.FLOAT && v.f == math.Trunc(v.f) && math.Abs(v.f) < 1<<53 {
			return nil, int64(v.f), false
		}
		return nil, nil, false
	case "double precision":
		if v.typ == sqlite3.FLOAT {
			return v.f, nil, true
		}
		if v.typ == sqlite3.INTEGER {
			return nil, float64(v.i), false
		}
		return nil, nil, false
	case "bytea":
		// SQLite's bytes, valid until the next step: COPY encodes each
		// row before the next is read, so they are not copied.
		if v.typ == sqlite3.BLOB {
			return v.b, nil, true
		}
		return nil, []byte(sqliteText(v)), false
	case "boolean":
		if v.typ == sqlite3.INTEGER && (v.i == 0 || v.i == 1) {
			return v.i == 1, nil, true
		}
		var fs forms
		if b, err := toBool(v, &fs); err == nil {
			return nil, b, false
		}
		return nil, nil, false
	}
	// text
	if v.typ == sqlite3.TEXT && utf8.Valid(v.b) && bytes.IndexByte(v.b, 0) < 0 {
		return v.b, nil, true // as for bytea: sent before the next step
	}
	return nil, validText(sqliteText(v)), false
}

// sqliteText is the text SQLite's CAST(x AS TEXT) gives.
func sqliteText(v value) string {
	switch v.typ {
	case sqlite3.INTEGER:
		return strconv.FormatInt(v.i, 10)
	case sqlite3.FLOAT:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	}
	return string(v.b)
}

// validText is the nearest text PostgreSQL can hold: NUL bytes and
// invalid UTF-8 become U+FFFD.
func validText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func describeAny(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return fmt.Sprintf("text %q", v)
	case []byte:
		return fmt.Sprintf("%d bytes", len(v))
	case json.RawMessage:
		s := string(v)
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return "JSON " + s
	}
	return fmt.Sprintf("%v", v)
}

// originalOf records a SQLite value exactly, in JSON that jsonb can hold:
// its storage class, and its bytes in hex (text may hold NUL or invalid
// UTF-8) or its number as text.
func originalOf(v value) map[string]string {
	switch v.typ {
	case sqlite3.INTEGER:
		return map[string]string{"sqlite_type": "integer", "value": strconv.FormatInt(v.i, 10)}
	case sqlite3.FLOAT:
		return map[string]string{"sqlite_type": "real", "value": strconv.FormatFloat(v.f, 'g', -1, 64)}
	case sqlite3.BLOB:
		return map[string]string{"sqlite_type": "blob", "hex": hex.EncodeToString(v.b)}
	}
	return map[string]string{"sqlite_type": "text", "hex": hex.EncodeToString(v.b)}
}

// valueOfOriginal reverses originalOf.
func valueOfOriginal(m map[string]string) (value, error) {
	switch m["sqlite_type"] {
	case "integer":
		n, err := strconv.ParseInt(m["value"], 10, 64)
		return value{typ: sqlite3.INTEGER, i: n}, err
	case "real":
		f, err := strconv.ParseFloat(m["value"], 64)
		return value{typ: sqlite3.FLOAT, f: f}, err
	case "blob", "text":
		b, err := hex.DecodeString(m["hex"])
		t := sqlite3.TEXT
		if m["sqlite_type"] == "blob" {
			t = sqlite3.BLOB
		}
		return value{typ: t, b: b}, err
	}
	return value{}, fmt.Errorf("unknown original %v", m)
}

// appendSQLiteValue renders a SQLite value by its storage class.
func appendSQLiteValue(buf []byte, v value) []byte {
	switch v.typ {
	case sqlite3.INTEGER:
		return appendI64(buf, 'I', v.i)
	case sqlite3.FLOAT:
		return appendI64(buf, 'F', int64(math.Float64bits(v.f)))
	case sqlite3.TEXT:
		return appendLen(buf, 'S', v.b)
	case sqlite3.BLOB:
		return appendLen(buf, 'X', v.b)
	}
	return append(buf, 'N')
}

// verifyRawRow renders a row read back from the target as the SQLite
// values it stands for: bigint an integer, boolean 0 or 1, text text,
// bytea a blob; a coerced column by the original kept beside it. Equal
// checksums then mean the source's values arrived, not merely what was
// sent.
func verifyRawRow(tp *tablePlan, coerce bool) func(buf []byte, raw [][]byte) ([]byte, error) {
	return func(buf []byte, raw [][]byte) ([]byte, error) {
		var orig map[string]map[string]string
		if coerce && raw[len(tp.raw)] != nil {
			j := raw[len(tp.raw)]
			if len(j) == 0 || j[0] != 1 {
				return nil, fmt.Errorf("%s: bad jsonb", coercedColumn)
			}
			if err := json.Unmarshal(j[1:], &orig); err != nil {
				return nil, fmt.Errorf("%s: %w", coercedColumn, err)
			}
		}
		for i, c := range tp.raw {
			if o, ok := orig[c.name]; ok {
				v, err := valueOfOriginal(o)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", coercedColumn, c.name, err)
				}
				buf = appendSQLiteValue(buf, v)
				continue
			}
			b := raw[i]
			if b == nil {
				buf = append(buf, 'N')
				continue
			}
			switch c.pgType {
			case "bigint":
				if len(b) != 8 {
					return nil, fmt.Errorf("%s: %d bytes for a bigint", c.name, len(b))
				}
				buf = appendI64(buf, 'I', int64(binary.BigEndian.Uint64(b)))
			case "double precision":
				if len(b) != 8 {
					return nil, fmt.Errorf("%s: %d bytes for a double", c.name, len(b))
				}
				buf = appendI64(buf, 'F', int64(binary.BigEndian.Uint64(b)))
			case "boolean":
				if len(b) != 1 {
					return nil, fmt.Errorf("%s: %d bytes for a boolean", c.name, len(b))
				}
				buf = appendI64(buf, 'I', int64(b[0]))
			case "bytea":
				buf = appendLen(buf, 'X', b)
			default:
				buf = appendLen(buf, 'S', b)
			}
		}
		return buf, nil
	}
}
