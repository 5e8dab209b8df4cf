package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ncruces/go-sqlite3"
)

// kind is how a column's values are converted, rendered for the checksum
// and read back; it follows from the column's PostgreSQL type.
type kind int

const (
	kText kind = iota
	kInt
	kBool
	kTime
	kJSON
	kFloat
	kBytes
)

// kindOf maps a PostgreSQL type (information_schema's data_type) to the
// conversion for it. A type missing here fails the migration, naming the
// column: it is never skipped.
func kindOf(pgType string) (kind, bool) {
	switch pgType {
	case "text", "character varying", "character":
		return kText, true
	case "bigint", "integer", "smallint":
		return kInt, true
	case "boolean":
		return kBool, true
	case "timestamp with time zone":
		return kTime, true
	case "jsonb", "json":
		return kJSON, true
	case "double precision":
		return kFloat, true
	case "bytea":
		return kBytes, true
	}
	return 0, false
}

// What a conversion does to a column, for the report.
func (k kind) action() string {
	switch k {
	case kTime:
		return "converted: SQLite text or number → timestamptz (UTC, microseconds)"
	case kJSON:
		return "converted: JSON text → jsonb (checked valid)"
	case kBool:
		return "converted: 0/1 → boolean"
	}
	return "carried"
}

// form names the shape a source value had; the report counts them per
// column so that an admin sees which values were interpreted, and how.
type form int

const (
	fNull form = iota
	fAsIs
	fTimeOurs       // 2006-01-02T15:04:05.000000Z, what the daemon writes
	fTimeZone       // text with a zone or offset
	fTimeNoZone     // text without a zone: taken as UTC (SQLite's CURRENT_TIMESTAMP is UTC)
	fTimeDate       // a date alone: midnight UTC
	fTimeEpochS     // a number of seconds since 1970
	fTimeEpochMS    // a number of milliseconds since 1970
	fTimeEpochUS    // a number of microseconds since 1970
	fTimeJulian     // a Julian day number (SQLite's julianday())
	fTimeTruncated  // finer than microseconds: truncated to microseconds
	fNumberText     // a number stored as text, or text stored as a number
	fTextReplaced   // NUL bytes or invalid UTF-8 replaced by U+FFFD
	fBool01         // 0 or 1
	fBoolWord       // true/false/yes/no as text
	fJSONText       // JSON text
	fJSONFromNumber // a bare number taken as a JSON number
	fJSONDupKeys    // an object names a key twice: jsonb keeps the last
	nForms
)

var formNames = [nForms]string{
	fNull:           "NULL",
	fAsIs:           "as is",
	fTimeOurs:       "UTC text 2006-01-02T15:04:05.000000Z",
	fTimeZone:       "text with a time zone",
	fTimeNoZone:     "text without a zone (taken as UTC)",
	fTimeDate:       "a date alone (midnight UTC)",
	fTimeEpochS:     "epoch seconds",
	fTimeEpochMS:    "epoch milliseconds",
	fTimeEpochUS:    "epoch microseconds",
	fTimeJulian:     "Julian day number",
	fTimeTruncated:  "finer than microseconds (truncated)",
	fNumberText:     "number stored as text or text as number",
	fTextReplaced:   "NUL or invalid UTF-8 replaced by U+FFFD",
	fBool01:         "0/1",
	fBoolWord:       "true/false as text",
	fJSONText:       "JSON text",
	fJSONFromNumber: "a bare number as JSON",
	fJSONDupKeys:    "duplicate JSON keys (the last kept, as jsonb does)",
}

// forms counts the forms seen in one column.
type forms [nForms]int64

func (f *forms) report() map[string]int64 {
	m := map[string]int64{}
	for i, n := range f {
		if n > 0 {
			m[formNames[i]] = n
		}
	}
	return m
}

// value is one SQLite value as read from a statement: raw text and blob
// bytes are valid only until the next step.
type value struct {
	typ sqlite3.Datatype
	i   int64
	f   float64
	b   []byte
}

func readValue(st *sqlite3.Stmt, col int) value {
	v := value{typ: st.ColumnType(col)}
	switch v.typ {
	case sqlite3.INTEGER:
		v.i = st.ColumnInt64(col)
	case sqlite3.FLOAT:
		v.f = st.ColumnFloat(col)
	case sqlite3.TEXT:
		v.b = st.ColumnRawText(col)
	case sqlite3.BLOB:
		v.b = st.ColumnRawBlob(col)
	}
	return v
}

// convert turns a SQLite value into what PostgreSQL gets for a column of
// kind k, counting its form in fs.
func convert(k kind, v value, fs *forms) (any, error) {
	if v.typ == sqlite3.NULL {
		fs[fNull]++
		return nil, nil
	}
	switch k {
	case kText:
		return toText(v, fs)
	case kInt:
		return toInt(v, fs)
	case kBool:
		return toBool(v, fs)
	case kTime:
		return toTime(v, fs)
	case kJSON:
		return toJSON(v, fs)
	case kFloat:
		switch v.typ {
		case sqlite3.FLOAT:
			fs[fAsIs]++
			return v.f, nil
		case sqlite3.INTEGER:
			fs[fAsIs]++
			return float64(v.i), nil
		}
		return nil, fmt.Errorf("%s where a number belongs", describeValue(v))
	case kBytes:
		fs[fAsIs]++
		return bytes.Clone(v.b), nil
	}
	return nil, fmt.Errorf("unknown conversion %d", k)
}

func describeValue(v value) string {
	switch v.typ {
	case sqlite3.TEXT:
		s := string(v.b)
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("text %q", s)
	case sqlite3.BLOB:
		return fmt.Sprintf("a %d-byte blob", len(v.b))
	case sqlite3.INTEGER:
		return fmt.Sprintf("integer %d", v.i)
	case sqlite3.FLOAT:
		return fmt.Sprintf("real %g", v.f)
	}
	return "NULL"
}

// toText keeps text as it is, except what PostgreSQL text cannot hold: NUL
// bytes and invalid UTF-8 become U+FFFD, as the daemon itself stores them.
func toText(v value, fs *forms) (any, error) {
	switch v.typ {
	case sqlite3.TEXT, sqlite3.BLOB:
		if utf8.Valid(v.b) && bytes.IndexByte(v.b, 0) < 0 {
			fs[fAsIs]++
			return string(v.b), nil
		}
		if v.typ == sqlite3.BLOB {
			return nil, fmt.Errorf("%s (binary data) where text belongs", describeValue(v))
		}
		fs[fTextReplaced]++
		return strings.ReplaceAll(strings.ToValidUTF8(string(v.b), "\uFFFD"), "\x00", "\uFFFD"), nil
	case sqlite3.INTEGER:
		fs[fNumberText]++
		return strconv.FormatInt(v.i, 10), nil
	case sqlite3.FLOAT:
		fs[fNumberText]++
		return strconv.FormatFloat(v.f, 'g', -1, 64), nil
	}
	return nil, fmt.Errorf("%s where text belongs", describeValue(v))
}

func toInt(v value, fs *forms) (any, error) {
	switch v.typ {
	case sqlite3.INTEGER:
		fs[fAsIs]++
		return v.i, nil
	case sqlite3.FLOAT:
		if v.f == math.Trunc(v.f) && math.Abs(v.f) < 1<<53 {
			fs[fNumberText]++
			return int64(v.f), nil
		}
	case sqlite3.TEXT:
		if n, err := strconv.ParseInt(strings.TrimSpace(string(v.b)), 10, 64); err == nil {
			fs[fNumberText]++
			return n, nil
		}
	}
	return nil, fmt.Errorf("%s where an integer belongs", describeValue(v))
}

func toBool(v value, fs *forms) (any, error) {
	switch v.typ {
	case sqlite3.INTEGER:
		if v.i == 0 || v.i == 1 {
			fs[fBool01]++
			return v.i == 1, nil
		}
	case sqlite3.TEXT:
		switch strings.ToLower(strings.TrimSpace(string(v.b))) {
		case "1":
			fs[fBool01]++
			return true, nil
		case "0":
			fs[fBool01]++
			return false, nil
		case "true", "t", "yes", "y", "on":
			fs[fBoolWord]++
			return true, nil
		case "false", "f", "no", "n", "off":
			fs[fBoolWord]++
			return false, nil
		}
	}
	return nil, fmt.Errorf("%s where a boolean (0 or 1) belongs", describeValue(v))
}

// toJSON checks JSON text; PostgreSQL's jsonb then normalises it.
func toJSON(v value, fs *forms) (any, error) {
	switch v.typ {
	case sqlite3.TEXT:
		if !json.Valid(v.b) {
			return nil, fmt.Errorf("%s is not valid JSON", describeValue(v))
		}
		if bytes.Contains(v.b, []byte(`\u0000`)) {
			return nil, fmt.Errorf("JSON with a \\u0000 escape, which PostgreSQL's jsonb cannot hold")
		}
		if hasDuplicateKeys(v.b) {
			// What jsonb would keep, sent as such: the change is the
			// converter's, counted and listed, not the server's.
			fs[fJSONDupKeys]++
			nearest, _ := jsonbNearest(v.b)
			return nearest, nil
		}
		fs[fJSONText]++
		return json.RawMessage(bytes.Clone(v.b)), nil
	case sqlite3.INTEGER:
		fs[fJSONFromNumber]++
		return json.RawMessage(strconv.FormatInt(v.i, 10)), nil
	case sqlite3.FLOAT:
		if !math.IsInf(v.f, 0) && !math.IsNaN(v.f) {
			fs[fJSONFromNumber]++
			return json.RawMessage(strconv.FormatFloat(v.f, 'g', -1, 64)), nil
		}
	}
	return nil, fmt.Errorf("%s where JSON belongs (SQLite's binary JSONB is not supported: convert it with json())", describeValue(v))
}

// Julian day numbers from 1763 to 4501; a number of seconds since 1970 in
// this range would be in early 1970, before any TeleClaude existed.
const (
	julianMin  = 2_365_000.0
	julianMax  = 3_365_000.0
	julianUnix = 2_440_587.5 // the Julian day of 1970-01-01T00:00:00Z
)

// toTime reads the forms a time takes in SQLite databases: the daemon's
// fixed-width UTC text; other ISO 8601 text, with or without a zone
// (without: UTC, as SQLite's own CURRENT_TIMESTAMP and datetime() write
// it); a date alone; integer or real seconds, milliseconds or microseconds
// since 1970 (told apart by size); and Julian day numbers (julianday()).
func toTime(v value, fs *forms) (any, error) {
	var t time.Time
	var f form
	switch v.typ {
	case sqlite3.INTEGER:
		t, f = fromEpoch(float64(v.i), v.i)
	case sqlite3.FLOAT:
		if v.f >= julianMin && v.f < julianMax {
			us := math.Round((v.f - julianUnix) * 86400e6)
			t, f = time.UnixMicro(int64(us)), fTimeJulian
		} else if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return nil, fmt.Errorf("%s where a time belongs", describeValue(v))
		} else {
			t, f = fromEpoch(v.f, 0)
		}
	case sqlite3.TEXT:
		var ok bool
		t, f, ok = parseTimeText(v.b)
		if !ok {
			return nil, fmt.Errorf("%s is not a time migrate knows (ISO 8601 text, epoch seconds/milliseconds/microseconds, or a Julian day)", describeValue(v))
		}
	default:
		return nil, fmt.Errorf("%s where a time belongs", describeValue(v))
	}
	if t.Nanosecond()%1000 != 0 {
		fs[fTimeTruncated]++
		t = t.Truncate(time.Microsecond)
	}
	fs[f]++
	return t.UTC(), nil
}

// fromEpoch takes a number as seconds, milliseconds or microseconds since
// 1970 by its size: seconds reach 1e11 only in the year 5138, milliseconds
// 1e14 only in 5138 as well.
func fromEpoch(x float64, exact int64) (time.Time, form) {
	ax := math.Abs(x)
	switch {
	case ax < 1e11:
		if exact != 0 || x == math.Trunc(x) {
			return time.Unix(int64(x), 0), fTimeEpochS
		}
		return time.UnixMicro(int64(math.Round(x * 1e6))), fTimeEpochS
	case ax < 1e14:
		if exact != 0 {
			return time.UnixMilli(exact), fTimeEpochMS
		}
		return time.UnixMicro(int64(math.Round(x * 1e3))), fTimeEpochMS
	default:
		if exact != 0 {
			return time.UnixMicro(exact), fTimeEpochUS
		}
		return time.UnixMicro(int64(x)), fTimeEpochUS
	}
}

var (
	zonedLayouts = []string{
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02 15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999 Z07:00",
		"2006-01-02 15:04:05.999999999 Z07:00",
		"2006-01-02T15:04Z07:00",
		"2006-01-02 15:04Z07:00",
	}
	naiveLayouts = []string{
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02 15:04",
	}
)

func parseTimeText(b []byte) (time.Time, form, bool) {
	if t, ok := parseOurs(b); ok {
		return t, fTimeOurs, true
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return time.Time{}, 0, false
	}
	if t, ok := parseNaive(s); ok {
		return t, fTimeNoZone, true
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			t, f := fromEpoch(float64(n), n)
			return t, f, true
		}
		if x >= julianMin && x < julianMax {
			return time.UnixMicro(int64(math.Round((x - julianUnix) * 86400e6))), fTimeJulian, true
		}
		t, f := fromEpoch(x, 0)
		return t, f, true
	}
	// SQLite's own time functions accept a trailing "Z" or offset, and
	// Python's isoformat() writes "+00:00"; "UTC" appears in hand-made data.
	if rest, ok := strings.CutSuffix(s, " UTC"); ok {
		s = rest + "Z"
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, fTimeZone, true
		}
	}
	for _, l := range naiveLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, fTimeNoZone, true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.UTC); err == nil {
		return t, fTimeDate, true
	}
	return time.Time{}, 0, false
}

// parseNaive reads what SQLite's CURRENT_TIMESTAMP and Python's
// isoformat() of a naive time write, 2006-01-02 15:04:05 with 'T' or a
// space and up to nine digits of fraction, as the naive layouts below
// read it, without time.Parse trying each zoned layout first: upstream
// writes every time this way. Anything else is left to them.
func parseNaive(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	ns := 0
	if len(s) > 19 {
		frac := s[20:]
		if s[19] != '.' || len(frac) == 0 || len(frac) > 9 {
			return time.Time{}, false
		}
		for i := 0; i < 9; i++ {
			d := 0
			if i < len(frac) {
				if frac[i] < '0' || frac[i] > '9' {
					return time.Time{}, false
				}
				d = int(frac[i] - '0')
			}
			ns = ns*10 + d
		}
	}
	var p [6]int
	for i, r := range [6][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}} {
		n := 0
		for _, c := range []byte(s[r[0]:r[1]]) {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			n = n*10 + int(c-'0')
		}
		p[i] = n
	}
	if p[1] < 1 || p[1] > 12 || p[2] < 1 || p[3] > 23 || p[4] > 59 || p[5] > 59 {
		return time.Time{}, false
	}
	t := time.Date(p[0], time.Month(p[1]), p[2], p[3], p[4], p[5], ns, time.UTC)
	if t.Day() != p[2] { // February 30th and the like
		return time.Time{}, false
	}
	return t, true
}

// parseOurs reads the daemon's own format, 2006-01-02T15:04:05.000000Z,
// without time.Parse's generality: a million of them is the common case.
func parseOurs(b []byte) (time.Time, bool) {
	if len(b) != 27 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[19] != '.' || b[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for _, c := range b[from:to] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	var p [7]int
	for i, r := range [7][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}, {20, 26}} {
		n, ok := num(r[0], r[1])
		if !ok {
			return time.Time{}, false
		}
		p[i] = n
	}
	if p[1] < 1 || p[1] > 12 || p[2] < 1 || p[2] > 31 || p[3] > 23 || p[4] > 59 || p[5] > 59 {
		return time.Time{}, false
	}
	t := time.Date(p[0], time.Month(p[1]), p[2], p[3], p[4], p[5], p[6]*1000, time.UTC)
	if t.Day() != p[2] { // February 30th and the like
		return time.Time{}, false
	}
	return t, true
}
