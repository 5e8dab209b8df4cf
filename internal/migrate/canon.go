package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ncruces/go-sqlite3"
)

// The source side of the checksum, rendered from the values SQLite holds
// without going through the converters (convert.go, upstream.go): each
// reading here is the one documented way a stored value stands for a value
// of the target's type, and it never alters one. A converter that changes
// a value, and does not report it, then produces a target that renders
// differently, and verification fails.

// appendSourceCanon renders a SQLite value as the value of kind k it
// stands for, in the target side's canonical form (appendCanonRaw); a value
// that stands for none is rendered by its storage class under a tag of its
// own, which no target value matches.
func appendSourceCanon(buf []byte, k kind, v value) []byte {
	if v.typ == sqlite3.NULL {
		return append(buf, 'N')
	}
	switch k {
	case kText:
		switch v.typ {
		case sqlite3.TEXT, sqlite3.BLOB:
			return appendLen(buf, 'S', v.b)
		case sqlite3.INTEGER:
			return appendLen(buf, 'S', strconv.AppendInt(nil, v.i, 10))
		case sqlite3.FLOAT:
			return appendLen(buf, 'S', strconv.AppendFloat(nil, v.f, 'g', -1, 64))
		}
	case kBytes:
		if v.typ == sqlite3.TEXT || v.typ == sqlite3.BLOB {
			return appendLen(buf, 'X', v.b)
		}
	case kInt:
		switch v.typ {
		case sqlite3.INTEGER:
			return appendI64(buf, 'I', v.i)
		case sqlite3.FLOAT:
			if v.f == math.Trunc(v.f) && math.Abs(v.f) < 1<<53 {
				return appendI64(buf, 'I', int64(v.f))
			}
		case sqlite3.TEXT:
			if n, err := strconv.ParseInt(strings.TrimSpace(string(v.b)), 10, 64); err == nil {
				return appendI64(buf, 'I', n)
			}
		}
	case kFloat:
		switch v.typ {
		case sqlite3.FLOAT:
			return appendI64(buf, 'F', int64(math.Float64bits(v.f)))
		case sqlite3.INTEGER:
			return appendI64(buf, 'F', int64(math.Float64bits(float64(v.i))))
		}
	case kBool:
		switch {
		case v.typ == sqlite3.INTEGER && (v.i == 0 || v.i == 1):
			return append(buf, 'B', byte(v.i))
		case v.typ == sqlite3.TEXT && (string(v.b) == "0" || string(v.b) == "1"):
			return append(buf, 'B', v.b[0]-'0')
		}
	case kJSON:
		switch v.typ {
		case sqlite3.TEXT:
			if utf8.Valid(v.b) {
				if c, err := canonJSON(v.b); err == nil {
					return appendLen(buf, 'J', c)
				}
			}
		case sqlite3.INTEGER:
			return appendLen(buf, 'J', strconv.AppendInt(nil, v.i, 10))
		case sqlite3.FLOAT:
			if c, err := canonJSON(strconv.AppendFloat(nil, v.f, 'g', -1, 64)); err == nil {
				return appendLen(buf, 'J', c)
			}
		}
	case kTime:
		if us, ok := sourceMicros(v); ok {
			return appendI64(buf, 'T', us)
		}
	}
	return appendStored(buf, v)
}

// appendStored renders a value by its SQLite storage class alone, under
// the tag r: what a value that stands for nothing of its column's type is.
func appendStored(buf []byte, v value) []byte {
	return appendSQLiteValue(append(buf, 'r'), v)
}

// sourceMicros is the instant a stored time stands for, in microseconds,
// when it names one exactly (finer than microseconds does not).
func sourceMicros(v value) (int64, bool) {
	var fs forms
	t, err := toTime(v, &fs)
	if err != nil || fs[fTimeTruncated] > 0 {
		return 0, false
	}
	return t.(time.Time).UnixMicro(), true
}

// lossyForms are the forms in which a value does not arrive as it was:
// each such value is listed in the report, and its source side then takes
// the value as carried.
var lossyForms = []form{fTextReplaced, fBoolWord, fTimeTruncated, fJSONDupKeys}

func lossyCount(fs *forms) (n int64) {
	for _, f := range lossyForms {
		n += fs[f]
	}
	return n
}

// The upstream sessions table maps onto ours with defaults, derived
// columns and meta, so its checksum is over the upstream row itself: on
// the source side every column as SQLite holds it (upstreamCanon), on the
// target side the same columns as found in PostgreSQL: session_id from
// id, every other column from meta.upstream, and a coerced value from the
// original kept in meta.teleclaude_coerced.

// upstreamCanon renders one upstream sessions value for the checksum as
// meta.upstream holds it: a 0/1 flag as a boolean, a JSON column's valid
// JSON as JSON, a number as an exact rational, text as text, a blob as
// bytes; anything else by its storage class.
func upstreamCanon(buf []byte, col string, v value) []byte {
	buf = appendLen(buf, 'c', []byte(col))
	switch {
	case v.typ == sqlite3.NULL:
		return append(buf, 'N')
	case isUpstreamBool(col) && v.typ == sqlite3.INTEGER && (v.i == 0 || v.i == 1):
		return append(buf, 'B', byte(v.i))
	case isUpstreamJSON(col) && v.typ == sqlite3.TEXT && utf8.Valid(v.b) && bytes.IndexByte(v.b, 0) < 0:
		if c, err := canonJSON(v.b); err == nil {
			return appendLen(buf, 'J', c)
		}
		// Text that is not JSON is kept as a string.
		s, _ := json.Marshal(string(v.b))
		c, _ := canonJSON(s)
		return appendLen(buf, 'J', c)
	case v.typ == sqlite3.INTEGER:
		return appendLen(buf, 'R', []byte(new(big.Rat).SetInt64(v.i).RatString()))
	case v.typ == sqlite3.FLOAT && !math.IsNaN(v.f) && !math.IsInf(v.f, 0):
		r, _ := new(big.Rat).SetString(strconv.FormatFloat(v.f, 'g', -1, 64))
		return appendLen(buf, 'R', []byte(r.RatString()))
	case v.typ == sqlite3.TEXT:
		return appendLen(buf, 'S', v.b)
	case v.typ == sqlite3.BLOB:
		return appendLen(buf, 'X', v.b)
	}
	return appendStored(buf, v)
}

func isUpstreamBool(col string) bool {
	for _, c := range upstreamBools {
		if c == col {
			return true
		}
	}
	return false
}

func isUpstreamJSON(col string) bool {
	for _, c := range upstreamJSON {
		if c == col {
			return true
		}
	}
	return false
}

// upstreamColumns are an upstream sessions table's columns in the order
// both sides render them.
func upstreamColumns(cols []string) []string {
	s := append([]string(nil), cols...)
	sort.Strings(s)
	return s
}

// verifyUpstreamSessions renders a row of our sessions table read back
// from PostgreSQL as the upstream row it came from (upstreamCanon).
func verifyUpstreamSessions(tp *tablePlan, srcCols []string) func(buf []byte, raw [][]byte) ([]byte, error) {
	id, meta := -1, -1
	for i, c := range tp.cols {
		switch c.name {
		case "id":
			id = i
		case "meta":
			meta = i
		}
	}
	cols := upstreamColumns(srcCols)
	at := make(map[string]int, len(cols))
	for i, c := range cols {
		at[c] = i
	}
	vals := make([][]byte, len(cols)) // this row's meta.upstream values, by column
	return func(buf []byte, raw [][]byte) ([]byte, error) {
		if id < 0 || meta < 0 || raw[meta] == nil {
			return nil, fmt.Errorf("a session without id or meta")
		}
		j := raw[meta]
		if tp.cols[meta].pgType == "jsonb" {
			if len(j) == 0 || j[0] != 1 {
				return nil, fmt.Errorf("meta: bad jsonb")
			}
			j = j[1:]
		}
		// meta as jsonb gives it back: no duplicate keys, so each
		// member's text is looked up by name.
		clear(vals)
		var coerced map[string]map[string]string
		top := jsonReader{in: j}
		err := top.objectMembers(func(k, v []byte) error {
			switch string(k) {
			case "upstream":
				if string(v) == "null" {
					return nil
				}
				in := jsonReader{in: v}
				return in.objectMembers(func(k, v []byte) error {
					if i, ok := at[string(k)]; ok {
						vals[i] = v
					}
					return nil
				})
			case coercedKey:
				return json.Unmarshal(v, &coerced)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("meta: %w", err)
		}
		for i, c := range cols {
			if c == "session_id" {
				buf = upstreamCanon(buf, c, value{typ: sqlite3.TEXT, b: raw[id]})
				continue
			}
			if coerced != nil {
				orig, ok := coerced["upstream."+c]
				if !ok {
					orig, ok = coerced[c]
				}
				if ok {
					v, err := valueOfOriginal(orig)
					if err != nil {
						return nil, fmt.Errorf("meta.%s.%s: %w", coercedKey, c, err)
					}
					buf = upstreamCanon(buf, c, v)
					continue
				}
			}
			if vals[i] == nil {
				buf = upstreamCanon(buf, c, value{typ: sqlite3.NULL})
				continue
			}
			buf = appendLen(buf, 'c', []byte(c))
			var err error
			if buf, err = appendMetaText(buf, c, vals[i]); err != nil {
				return nil, fmt.Errorf("meta.upstream.%s: %w", c, err)
			}
		}
		return buf, nil
	}
}

// appendMetaText renders a value of meta.upstream, given as its JSON text,
// as upstreamCanon renders the SQLite value it came from.
func appendMetaText(buf []byte, col string, text []byte) ([]byte, error) {
	if isUpstreamJSON(col) {
		c, err := canonJSON(text)
		if err != nil {
			return nil, err
		}
		return appendLen(buf, 'J', c), nil
	}
	r := jsonReader{in: text}
	switch {
	case string(text) == "true":
		return append(buf, 'B', 1), nil
	case string(text) == "false":
		return append(buf, 'B', 0), nil
	case len(text) > 0 && text[0] == '"':
		s, err := r.readString()
		if err != nil {
			return nil, err
		}
		return appendLen(buf, 'S', s), nil
	case len(text) > 0 && (text[0] == '-' || text[0] >= '0' && text[0] <= '9'):
		num, err := r.readNumber()
		if err != nil {
			return nil, err
		}
		mark := len(buf)
		if buf, err = appendRat(buf, num); err != nil {
			return nil, err
		}
		// As appendLen(buf, 'R', rational), the rational written in place.
		rat := append([]byte(nil), buf[mark:]...)
		return appendLen(buf[:mark], 'R', rat), nil
	}
	return nil, fmt.Errorf("unexpected %.20s", text)
}
