package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ncruces/go-sqlite3"
)

// The upstream Python TeleClaude (InstruktAI/TeleClaude,
// teleclaude/core/schema.sql) kept one sessions table, grown over many
// versions: a row per session with its tmux name, adapter state as JSON
// text, BOOLEAN DEFAULT 0 flags, and times as TEXT (SQLite's
// CURRENT_TIMESTAMP, "2006-01-02 15:04:05" in UTC, or Python's isoformat).
// It had no transcript table (transcripts were files) and no audit log.
// Its other tables (voice assignments, settings, outboxes, memory,
// webhooks, ...) have no counterpart here: upstreamtables.go copies them
// whole into the schema "upstream".
//
// upstreamSessions is the one place that says where each column of our
// sessions table comes from in an upstream database. A column of ours that
// is missing here stops the migration (and fails
// TestUpstreamMapsEveryColumn): nothing is filled in by accident.
var upstreamSessions = map[string]string{
	"id":            "session_id",
	"owner_person":  "human_email or principal through the people mapping, else --owner",
	"owner_uid":     "human_email or principal through the people mapping, else --owner",
	"project":       "last element of project_path, else of working_directory",
	"project_path":  "project_path (+ subdir), else working_directory",
	"agent":         "active_agent",
	"title":         "title",
	"status":        "\"ended\" (the upstream daemon's sessions are not run by this one)",
	"exit_code":     "none (NULL)",
	"tmux_name":     "tmux_session_name",
	"output_offset": "none (0)",
	"created_at":    "created_at",
	"updated_at":    "last_activity",
	"ended_at":      "closed_at, else last_activity when closed = 1",
	"meta":          "every column but session_id, as upstream stored it",
}

// Upstream columns that the mapping above reads for columns of ours; they
// are kept in meta.upstream as well, as upstream stored them, so that the
// whole upstream row is there (and the checksum compares it whole), and a
// coerced one is reported once, under its own name.
var upstreamConsumed = []string{
	"session_id", "title", "tmux_session_name", "created_at", "last_activity",
	"closed_at", "project_path", "subdir", "working_directory", "active_agent",
}

// knownSessionColumns are the columns upstream's sessions table has had
// up to 451f0fb; others are carried too, and listed as new.
var knownSessionColumns = []string{
	"session_id", "computer_name", "title", "tmux_session_name", "last_input_origin", "origin_adapter", "adapter_metadata",
	"closed", "created_at", "last_activity", "closed_at", "terminal_size", "working_directory", "project_path", "subdir",
	"description", "ux_state", "initiated_by_ai", "initiator_session_id", "output_message_id", "notification_sent",
	"native_session_id", "native_log_file", "active_agent", "thinking_mode", "tui_log_file", "tui_capture_started",
	"last_message_sent", "last_message_sent_at", "last_output_raw", "last_output_at", "working_slug", "lifecycle_status",
	"last_output_summary", "last_output_digest", "last_tool_done_at", "last_tool_use_at", "last_checkpoint_at",
	"human_email", "human_role", "user_role", "last_memory_extraction_at", "help_desk_processed_at", "relay_status",
	"relay_discord_channel_id", "relay_started_at", "char_offset", "transcript_files", "visibility", "session_metadata",
	"turn_triggered_by_linked_output", "principal", "last_input_adapter", "native_tty_path", "tmux_tty_path", "native_pid",
	"last_feedback_received", "last_feedback_received_at",
}

// Upstream flags stored as 0/1, and JSON kept in TEXT.
var (
	upstreamBools = []string{"closed", "initiated_by_ai", "notification_sent", "tui_capture_started", "available", "active"}
	upstreamJSON  = []string{"adapter_metadata", "ux_state", "transcript_files"}
)

func planUpstream(src *source, plans []*tablePlan, o Options, rep *Report) error {
	cols, err := src.columns("sessions")
	if err != nil {
		return err
	}
	for _, tp := range plans {
		if tp.name != "sessions" {
			tp.report.From = "nothing: the upstream schema has no such table (transcripts were files: see meta.upstream.transcript_files)"
			for _, c := range tp.cols {
				c.report.Action = "no source"
			}
			tp.open = func() (rowReader, error) { return emptyReader{}, nil }
			continue
		}
		tp.report.From = "sessions (upstream)"
		var missing []string
		for _, c := range tp.cols {
			from, ok := upstreamSessions[c.name]
			if !ok {
				missing = append(missing, c.name)
				continue
			}
			c.report.From = from
			c.report.Action = c.kind.action()
		}
		if len(missing) > 0 {
			return fmt.Errorf("upstream mapping: the upstream.go mapping does not say where sessions.%s comes from", strings.Join(missing, ", sessions."))
		}
		var meta []string
		for _, c := range cols {
			if c != "session_id" {
				meta = append(meta, c)
			}
			if !slices.Contains(knownSessionColumns, c) {
				rep.Notes = append(rep.Notes, fmt.Sprintf("upstream sessions.%s is new to this program: carried in meta.upstream.%s", c, c))
			}
		}
		sort.Strings(meta)
		for _, c := range tp.cols {
			if c.name == "meta" {
				c.report.Action = "built: {\"upstream\": {...}} with " + strings.Join(meta, ", ") +
					" (0/1 flags as booleans, JSON text as JSON); the checksum compares the upstream row with id and meta"
			}
		}
		if tp.total, err = src.count("sessions"); err != nil {
			return err
		}
		if o.Owner == nil {
			unmapped, err := unmappedOwners(src, cols, o.People)
			if err != nil {
				return err
			}
			if len(unmapped) > 0 {
				return fmt.Errorf("%w: %d upstream sessions have no owner the people mapping knows (%s); give --owner USER to say who receives them", ErrUsage, len(unmapped), strings.Join(first(unmapped, 5), ", "))
			}
		}
		tp.verifyRow = verifyUpstreamSessions(tp, cols)
		tp.open = func() (rowReader, error) {
			st, _, err := src.conn.Prepare(`SELECT * FROM sessions`)
			if err != nil {
				return nil, fmt.Errorf("source %s: read sessions: %w", src.path, explainSQLite(err))
			}
			r := &upstreamReader{src: src, st: st, cols: tp.cols, vals: make([]any, len(tp.cols)),
				idx: map[string]int{}, pos: map[string]int{}, owner: o.Owner, people: o.People, rep: rep,
				coerce: o.Coerce, now: time.Now().UTC().Truncate(time.Microsecond), mangle: o.mangle, sorted: upstreamColumns(cols)}
			for i := 0; i < st.ColumnCount(); i++ {
				r.idx[st.ColumnName(i)] = i
			}
			for i, c := range tp.cols {
				r.pos[c.name] = i
			}
			for _, c := range meta {
				mc := metaCol{name: c, key: "upstream." + c, at: -1, isBool: slices.Contains(upstreamBools, c), isJSON: slices.Contains(upstreamJSON, c)}
				if slices.Contains(upstreamConsumed, c) {
					mc.key = c
				}
				if i, ok := r.idx[c]; ok {
					mc.at = i
				}
				r.metaCols = append(r.metaCols, mc)
			}
			for _, c := range r.sorted {
				i, ok := r.idx[c]
				if !ok {
					i = -1
				}
				r.sortedAt = append(r.sortedAt, i)
			}
			return r, nil
		}
	}
	return nil
}

type upstreamReader struct {
	src      *source
	st       *sqlite3.Stmt
	cols     []*colPlan
	vals     []any
	idx      map[string]int // upstream column → position in SELECT *
	pos      map[string]int // our column → position in vals
	owner    *Owner
	people   map[string]Owner
	coerce   bool
	now      time.Time
	id       string         // the session being read
	coerced  map[string]any // this row's originals of coerced values
	pending  []Coercion     // reported once the row is whole
	rep      *Report
	metaCols []metaCol
	up       []metaVal // this row's meta.upstream
	metaBuf  []byte
	scratch  forms
	sorted   []string // the upstream columns in the checksum's order
	sortedAt []int    // and their positions in SELECT *
	canon    []byte
	mangle   func(table, column string, v any) any
}

func (r *upstreamReader) get(name string) value {
	i, ok := r.idx[name]
	if !ok {
		return value{typ: sqlite3.NULL}
	}
	return readValue(r.st, i)
}

func (r *upstreamReader) fs(col string) *forms { return &r.cols[r.pos[col]].fs }

func (r *upstreamReader) set(col string, v any) { r.vals[r.pos[col]] = v }

func (r *upstreamReader) next() (bool, error) {
	if !r.st.Step() {
		if err := r.st.Err(); err != nil {
			return false, fmt.Errorf("source %s: read sessions: %w", r.src.path, explainSQLite(err))
		}
		return false, nil
	}
	r.coerced = nil
	idv := r.get("session_id")
	if idv.typ != sqlite3.TEXT || !utf8.Valid(idv.b) || bytes.IndexByte(idv.b, 0) >= 0 {
		// The id names the session everywhere: it is never coerced.
		return false, fmt.Errorf("source %s: an upstream session without a usable session_id (%s)", r.src.path, describeValue(idv))
	}
	id, err := convert(kText, idv, r.fs("id"))
	if err != nil || id == nil {
		return false, fmt.Errorf("source %s: an upstream session without a usable session_id: %v", r.src.path, err)
	}
	r.id = id.(string)
	fail := func(col string, err error) (bool, error) {
		return false, fmt.Errorf("source %s: upstream session %s, column %s: %w", r.src.path, id, col, err)
	}
	r.set("id", id)
	text := func(from, to, dflt string) error {
		v, err := r.exact(kText, from, r.get(from), r.fs(to))
		if err != nil {
			return err
		}
		if v == nil {
			v = dflt
		}
		r.set(to, v)
		return nil
	}
	for _, m := range [][3]string{{"title", "title", ""}, {"tmux_session_name", "tmux_name", ""}, {"active_agent", "agent", "unknown"}} {
		if err := text(m[0], m[1], m[2]); err != nil {
			return fail(m[0], err)
		}
	}
	times := map[string]any{}
	for _, c := range [][2]string{{"created_at", "created_at"}, {"last_activity", "updated_at"}, {"closed_at", "ended_at"}} {
		v, err := r.exact(kTime, c[0], r.get(c[0]), r.fs(c[1]))
		if err != nil {
			return fail(c[0], err)
		}
		times[c[1]] = v
	}
	if times["created_at"] == nil {
		times["created_at"] = times["updated_at"]
	}
	if times["created_at"] == nil && r.coerced != nil {
		// Both times were coerced away: the migration's own time is the
		// nearest there is; the originals are in meta.
		times["created_at"] = r.now
		times["updated_at"] = r.now
	}
	if times["created_at"] == nil {
		return fail("created_at", fmt.Errorf("neither created_at nor last_activity is set"))
	}
	if times["updated_at"] == nil {
		times["updated_at"] = times["created_at"]
	}
	if times["ended_at"] == nil {
		if closed, err := convert(kBool, r.get("closed"), &r.scratch); err == nil && closed == true {
			times["ended_at"] = times["updated_at"]
		}
	}
	for k, v := range times {
		r.set(k, v)
	}

	dir, err := r.exact(kText, "project_path", r.get("project_path"), r.fs("project_path"))
	if err != nil {
		return fail("project_path", err)
	}
	if dir == nil {
		if dir, err = r.exact(kText, "working_directory", r.get("working_directory"), r.fs("project_path")); err != nil {
			return fail("working_directory", err)
		}
	}
	if dir == nil {
		dir = ""
	}
	// The project is named by its base directory; the session ran in its
	// subdirectory (a worktree), if any.
	project := path.Base(path.Clean(dir.(string)))
	if dir == "" || project == "/" || project == "." || project == "~" {
		project = "unknown"
	}
	r.set("project", project)
	sub, err := r.exact(kText, "subdir", r.get("subdir"), &r.scratch)
	if err != nil {
		return fail("subdir", err)
	}
	if sub != nil && sub != "" && dir != "" {
		dir = path.Join(dir.(string), sub.(string))
	}
	r.set("project_path", dir)
	r.set("status", "ended")
	r.set("exit_code", nil)
	r.set("output_offset", int64(0))
	if p, ok := r.person(); ok {
		r.set("owner_uid", p.UID)
		r.set("owner_person", p.Person)
		r.rep.OwnerMapped++
	} else {
		r.set("owner_uid", r.owner.UID)
		r.set("owner_person", r.owner.Person)
		r.rep.OwnerAssigned++
	}

	meta, err := r.meta()
	if err != nil {
		return fail("meta", err)
	}
	r.set("meta", meta)
	r.rep.addCoercions(r.pending)
	r.pending = r.pending[:0]
	r.fs("meta")[fJSONText]++
	r.canon = r.canon[:0]
	for i, c := range r.sorted {
		v := value{typ: sqlite3.NULL}
		if r.sortedAt[i] >= 0 {
			v = readValue(r.st, r.sortedAt[i])
		}
		r.canon = upstreamCanon(r.canon, c, v)
	}
	return true, nil
}

// canonRow is the checksum's rendering of the upstream row as SQLite
// holds it.
func (r *upstreamReader) canonRow(buf []byte) ([]byte, error) { return append(buf, r.canon...), nil }

// person is the session's owner by upstream's own record of who it ran
// for: human_email, else a "human:<email>" principal.
func (r *upstreamReader) person() (Owner, bool) {
	email := r.get("human_email")
	principal := r.get("principal")
	return ownerOf(email, principal, r.people)
}

func ownerOf(email, principal value, people map[string]Owner) (Owner, bool) {
	var e string
	if email.typ == sqlite3.TEXT {
		e = string(email.b)
	}
	if e == "" && principal.typ == sqlite3.TEXT {
		e, _ = strings.CutPrefix(string(principal.b), "human:")
		if e == string(principal.b) {
			e = ""
		}
	}
	p, ok := people[strings.ToLower(strings.TrimSpace(e))]
	return p, ok && e != ""
}

// unmappedOwners lists the sessions whose owner the people mapping does
// not give (their emails, or their ids when they have none).
func unmappedOwners(src *source, cols []string, people map[string]Owner) ([]string, error) {
	sel := `SELECT session_id`
	for _, c := range []string{"human_email", "principal"} {
		if slices.Contains(cols, c) {
			sel += ", " + c
		} else {
			sel += ", NULL"
		}
	}
	st, _, err := src.conn.Prepare(sel + ` FROM sessions`)
	if err != nil {
		return nil, fmt.Errorf("source %s: read sessions: %w", src.path, explainSQLite(err))
	}
	defer st.Close()
	var out []string
	seen := map[string]bool{}
	for st.Step() {
		if _, ok := ownerOf(readValue(st, 1), readValue(st, 2), people); ok {
			continue
		}
		who := "session " + st.ColumnText(0)
		if e := st.ColumnText(1); e != "" {
			who = e
		}
		if !seen[who] {
			seen[who] = true
			out = append(out, who)
		}
	}
	return out, st.Err()
}

// metaCol is a column kept in meta.upstream, with what meta needs of it
// worked out once rather than per row.
type metaCol struct {
	name   string
	key    string // its name in the report and in meta.teleclaude_coerced
	at     int    // its position in SELECT *; -1: absent
	isBool bool
	isJSON bool
}

// metaVal is one value for meta.upstream, kept without an interface so
// that a row costs no allocation per value.
type metaVal struct {
	kind byte // 0 none, 'b' bool, 'i' int64, 'f' float64, 's' text, 'j' JSON
	b    bool
	i    int64
	f    float64
	s    []byte // text or JSON; SQLite's bytes are valid until the next step
}

func (m metaVal) any() any {
	switch m.kind {
	case 'b':
		return m.b
	case 'i':
		return m.i
	case 'f':
		return m.f
	case 's':
		return string(m.s)
	case 'j':
		return json.RawMessage(m.s)
	}
	return nil
}

// meta keeps every upstream column that has no column of ours, so that
// nothing of a session is lost: flags as booleans, JSON text as JSON,
// numbers as numbers, everything else as text. The document is written
// into a buffer reused from row to row: COPY encodes a row before the
// next is read.
func (r *upstreamReader) meta() (json.RawMessage, error) {
	if len(r.up) != len(r.metaCols) {
		r.up = make([]metaVal, len(r.metaCols))
	}
	for n, c := range r.metaCols {
		r.up[n] = metaVal{}
		v := value{typ: sqlite3.NULL}
		if c.at >= 0 {
			v = readValue(r.st, c.at)
		}
		switch {
		case v.typ == sqlite3.NULL:
			continue
		case c.isBool && v.typ == sqlite3.INTEGER && (v.i == 0 || v.i == 1):
			r.up[n] = metaVal{kind: 'b', b: v.i == 1}
			continue
		case c.isBool && v.typ == sqlite3.TEXT:
			// A word where upstream writes 0/1: true, but not silently.
			if b, err := toBool(v, &r.scratch); err == nil {
				if err := r.problem(c.key, v, b); err != nil {
					return nil, fmt.Errorf("%s: %w", c.name, err)
				}
				r.up[n] = metaVal{kind: 'b', b: b.(bool)}
				continue
			}
		case c.isJSON && v.typ == sqlite3.TEXT && json.Valid(v.b):
			nearest, why := jsonbNearest(v.b)
			if why != "" {
				if err := r.problem(c.key, v, nearest); err != nil {
					return nil, fmt.Errorf("%s: %s: %w", c.name, why, err)
				}
			}
			r.up[n] = metaVal{kind: 'j', s: nearest}
			continue
		}
		switch v.typ {
		case sqlite3.INTEGER:
			r.up[n] = metaVal{kind: 'i', i: v.i}
		case sqlite3.FLOAT:
			if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
				if err := r.problem(c.key, v, nil); err != nil {
					return nil, fmt.Errorf("%s: %w", c.name, err)
				}
				continue
			}
			r.up[n] = metaVal{kind: 'f', f: v.f}
		default:
			if v.typ == sqlite3.TEXT && utf8.Valid(v.b) && bytes.IndexByte(v.b, 0) < 0 {
				r.up[n] = metaVal{kind: 's', s: v.b} // what exact gives, uncopied
				continue
			}
			s, err := r.exact(kText, c.key, v, &r.scratch)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			r.up[n] = metaVal{kind: 's', s: []byte(s.(string))}
		}
	}
	// Written by hand in metaCols' order: encoding/json's map encoder
	// (reflection, sorting) was a third of this reader's time.
	b := append(r.metaBuf[:0], `{"migrated_at":"`...)
	b = r.now.AppendFormat(b, time.RFC3339)
	b = append(b, `","upstream":{`...)
	n := 0
	for i, c := range r.metaCols {
		m := r.up[i]
		if m.kind == 0 {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendJSONString(b, c.name)
		b = append(b, ':')
		if r.mangle != nil {
			var err error
			if b, err = appendJSONValue(b, r.mangle("sessions", "meta.upstream."+c.name, m.any())); err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			continue
		}
		switch m.kind {
		case 'b':
			b = strconv.AppendBool(b, m.b)
		case 'i':
			b = strconv.AppendInt(b, m.i, 10)
		case 'f':
			// The shortest form that reads back as the same float64, as
			// the checksum's source side renders it.
			b = strconv.AppendFloat(b, m.f, 'g', -1, 64)
		case 's':
			b = appendJSONText(b, m.s)
		case 'j':
			b = append(b, m.s...)
		}
	}
	b = append(b, '}')
	if r.coerced != nil {
		co, err := json.Marshal(r.coerced)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"`+coercedKey+`":`...), co...)
	}
	b = append(b, '}')
	r.metaBuf = b
	return json.RawMessage(b), nil
}

// appendJSONString is json.Marshal of a string. Most strings need no
// escaping at all and are copied between quotes; the rest go through
// json.Marshal, whose escapes (HTML characters, U+2028, invalid UTF-8)
// they then get exactly.
func appendJSONString(b []byte, s string) []byte {
	if jsonPlain(s) && utf8.ValidString(s) {
		return append(append(append(b, '"'), s...), '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// appendJSONText is appendJSONString of text given as bytes.
func appendJSONText(b []byte, s []byte) []byte {
	if jsonPlain(s) && utf8.Valid(s) {
		return append(append(append(b, '"'), s...), '"')
	}
	q, _ := json.Marshal(string(s))
	return append(b, q...)
}

// jsonPlain says whether json.Marshal leaves s as it is between quotes,
// provided it is valid UTF-8: no control characters, quotes, backslashes,
// HTML characters, U+2028 or U+2029.
func jsonPlain[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&':
			return false
		case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9):
			return false
		}
	}
	return true
}

// appendJSONValue writes one value of meta.upstream.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case float64:
		// The shortest form that reads back as the same float64, as the
		// checksum's source side renders it.
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case string:
		return appendJSONString(b, v), nil
	case json.RawMessage:
		return append(b, v...), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

func (r *upstreamReader) values() []any { return r.vals }
func (r *upstreamReader) close()        { r.st.Close() }

// affinityOf is SQLite's column affinity for a declared type
// (https://sqlite.org/datatype3.html, 3.1): it decides what SQLite stored.
func affinityOf(declared string) string {
	t := strings.ToUpper(declared)
	switch {
	case strings.Contains(t, "INT"):
		return "INTEGER"
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return "TEXT"
	case t == "" || strings.Contains(t, "BLOB"):
		return "BLOB"
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return "REAL"
	}
	return "NUMERIC"
}

// first is s cut to n names, saying how many more there are.
func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
}

// coercedKey is where meta keeps the exact source values of a session's
// coerced columns (--coerce): "upstream.<col>" for those inside meta.
const coercedKey = "teleclaude_coerced"

// exact converts v as convert does, except that a value convert would
// change (text with NUL or invalid UTF-8) or cannot read (a time such as
// "" or "yesterday") is refused, or with --coerce carried in its nearest
// form (U+FFFD; no time), its original kept in meta.
func (r *upstreamReader) exact(k kind, col string, v value, fs *forms) (any, error) {
	switch {
	case k == kText && (v.typ == sqlite3.TEXT || v.typ == sqlite3.BLOB) && (!utf8.Valid(v.b) || bytes.IndexByte(v.b, 0) >= 0):
		nearest := validText(string(v.b))
		if err := r.problem(col, v, nearest); err != nil {
			return nil, err
		}
		return nearest, nil
	case k == kText && v.typ == sqlite3.BLOB:
		nearest := string(v.b)
		if err := r.problem(col, v, nearest); err != nil {
			return nil, err
		}
		return nearest, nil
	}
	out, err := convert(k, v, fs)
	if err != nil && k == kTime {
		if perr := r.problem(col, v, nil); perr != nil {
			return nil, fmt.Errorf("%w; %w", err, perr)
		}
		return nil, nil
	}
	return out, err
}

// problem refuses a value that cannot be carried exactly, or under
// --coerce records its original for meta and the report.
func (r *upstreamReader) problem(col string, v value, nearest any) error {
	if !r.coerce {
		return fmt.Errorf("%s cannot be carried exactly: give --coerce to carry it as %s, with the original kept in meta.%s", describeValue(v), describeAny(nearest), coercedKey)
	}
	if r.coerced == nil {
		r.coerced = map[string]any{}
	}
	if _, ok := r.coerced[col]; ok {
		return nil // a column of ours and meta.upstream: reported once
	}
	r.coerced[col] = originalOf(v)
	r.pending = append(r.pending, Coercion{Table: "sessions", Row: r.id, Column: col, From: describeValue(v), To: describeAny(nearest),
		Kept: "sessions.meta." + coercedKey})
	return nil
}

// jsonbNearest says what PostgreSQL's jsonb would make of JSON text
// where that is not the same document: duplicate object keys (jsonb keeps
// the last) or a \u0000 escape (jsonb refuses it; U+FFFD instead). It
// returns the document to store and why it differs, "" when it does not.
func jsonbNearest(b []byte) (json.RawMessage, string) {
	var why []string
	if hasDuplicateKeys(b) {
		why = append(why, "duplicate object keys")
	}
	if bytes.Contains(b, []byte(`\u0000`)) {
		why = append(why, "a \\u0000 escape")
	}
	if len(why) == 0 {
		return json.RawMessage(bytes.Clone(b)), ""
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return json.RawMessage(bytes.Clone(b)), ""
	}
	out, _ := json.Marshal(scrubNUL(v))
	return out, strings.Join(why, " and ")
}

func scrubNUL(v any) any {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, "\x00", "\uFFFD")
	case []any:
		for i := range v {
			v[i] = scrubNUL(v[i])
		}
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[strings.ReplaceAll(k, "\x00", "\uFFFD")] = scrubNUL(e)
		}
		return m
	}
	return v
}

// hasDuplicateKeys reports whether valid JSON text has an object that
// names a key twice.
func hasDuplicateKeys(b []byte) bool {
	r := jsonReader{in: b}
	_, err := r.canonDoc(nil)
	return err == nil && r.dup
}
