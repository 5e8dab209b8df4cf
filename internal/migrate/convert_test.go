package migrate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"
)

func text(s string) value   { return value{typ: sqlite3.TEXT, b: []byte(s)} }
func integer(n int64) value { return value{typ: sqlite3.INTEGER, i: n} }
func real(f float64) value  { return value{typ: sqlite3.FLOAT, f: f} }

func TestToTime(t *testing.T) {
	utc := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in   value
		want time.Time
		form form
	}{
		{text("2026-01-02T03:04:05.123456Z"), utc(2026, 1, 2, 3, 4, 5, 123456000), fTimeOurs},
		{text("2026-01-02T03:04:05Z"), utc(2026, 1, 2, 3, 4, 5, 0), fTimeZone},
		{text("2026-01-02T03:04:05+02:00"), utc(2026, 1, 2, 1, 4, 5, 0), fTimeZone},
		{text("2026-01-02 03:04:05-0130"), utc(2026, 1, 2, 4, 34, 5, 0), fTimeZone},
		{text("2026-01-02T03:04:05.5 UTC"), utc(2026, 1, 2, 3, 4, 5, 500000000), fTimeZone},
		{text("2026-01-02 03:04:05"), utc(2026, 1, 2, 3, 4, 5, 0), fTimeNoZone},
		{text("2026-01-02T03:04:05.250"), utc(2026, 1, 2, 3, 4, 5, 250000000), fTimeNoZone},
		{text("2026-01-02 03:04"), utc(2026, 1, 2, 3, 4, 0, 0), fTimeNoZone},
		{text("2026-01-02"), utc(2026, 1, 2, 0, 0, 0, 0), fTimeDate},
		{text(" 1700000000 "), time.Unix(1700000000, 0), fTimeEpochS},
		{text("1700000000.5"), time.Unix(1700000000, 500000000), fTimeEpochS},
		{integer(1700000000), time.Unix(1700000000, 0), fTimeEpochS},
		{integer(0), time.Unix(0, 0), fTimeEpochS},
		{integer(1700000000123), time.UnixMilli(1700000000123), fTimeEpochMS},
		{integer(1700000000123456), time.UnixMicro(1700000000123456), fTimeEpochUS},
		{real(1700000000.25), time.Unix(1700000000, 250000000), fTimeEpochS},
		{real(2460000.5), utc(2023, 2, 25, 0, 0, 0, 0), fTimeJulian},
		{text("2460000.5"), utc(2023, 2, 25, 0, 0, 0, 0), fTimeJulian},
	}
	for _, tc := range tests {
		var fs forms
		got, err := toTime(tc.in, &fs)
		if err != nil {
			t.Errorf("toTime(%s): %v", describeValue(tc.in), err)
			continue
		}
		if !got.(time.Time).Equal(tc.want) {
			t.Errorf("toTime(%s) = %s; want %s", describeValue(tc.in), got.(time.Time).Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
		}
		if fs[tc.form] != 1 {
			t.Errorf("toTime(%s): forms %v; want %q", describeValue(tc.in), fs.report(), formNames[tc.form])
		}
	}
	for _, bad := range []value{text("yesterday"), text(""), text("2026-02-30"), {typ: sqlite3.BLOB, b: []byte{1}}, real(math.NaN()), real(math.Inf(1))} {
		if got, err := toTime(bad, new(forms)); err == nil {
			t.Errorf("toTime(%s) = %v; want an error", describeValue(bad), got)
		}
	}
}

func TestConvertOthers(t *testing.T) {
	tests := []struct {
		k    kind
		in   value
		want any
	}{
		{kBool, integer(0), false},
		{kBool, integer(1), true},
		{kBool, text("true"), true},
		{kBool, text("F"), false},
		{kInt, text("42"), int64(42)},
		{kInt, real(3), int64(3)},
		{kText, integer(7), "7"},
		{kText, text("a\x00b"), "a\uFFFDb"},
		{kFloat, integer(2), 2.0},
	}
	for _, tc := range tests {
		got, err := convert(tc.k, tc.in, new(forms))
		if err != nil || got != tc.want {
			t.Errorf("convert(%d, %s) = %#v, %v; want %#v", tc.k, describeValue(tc.in), got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		k  kind
		in value
	}{
		{kBool, integer(2)}, {kInt, text("4x")}, {kInt, real(1.5)}, {kJSON, text("{bad")},
		{kJSON, text(`{"a": "\u0000"}`)}, {kText, value{typ: sqlite3.BLOB, b: []byte{0xff, 0}}},
	} {
		if got, err := convert(tc.k, tc.in, new(forms)); err == nil {
			t.Errorf("convert(%d, %s) = %v; want an error", tc.k, describeValue(tc.in), got)
		}
	}
}

// TestCanonJSON: spellings that jsonb stores as one value render the same.
func TestCanonJSON(t *testing.T) {
	same := [][]string{
		{`{"b": 1, "a": [1, 2]}`, `{"a":[1,2],"b":1}`, `{ "a" : [ 1 , 2 ], "b" : 1.0 }`},
		{`100`, `1e2`, `1E+2`, `100.00`},
		{`"é"`, `"\u00e9"`},
		{`{"x": "<&>"}`, `{"x": "\u003c\u0026\u003e"}`},
	}
	for _, group := range same {
		first, err := canonJSON([]byte(group[0]))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range group[1:] {
			got, err := canonJSON([]byte(s))
			if err != nil || string(got) != string(first) {
				t.Errorf("canonJSON(%s) = %s, %v; want %s as for %s", s, got, err, first, group[0])
			}
		}
	}
	// What jsonb would change renders differently from what it makes of
	// it, so that the checksum sees the change.
	for _, pair := range [][2]string{
		{`{"a": 1}`, `{"a": "1"}`},
		{`{"a": 1, "a": 2}`, `{"a": 2}`},
		{`["a\u0000b"]`, `["a\ufffdb"]`},
	} {
		a, _ := canonJSON([]byte(pair[0]))
		b, _ := canonJSON([]byte(pair[1]))
		if string(a) == string(b) {
			t.Errorf("%s and %s render the same", pair[0], pair[1])
		}
	}
}

// TestChecksumSeparatesValues: the rendering leaves no two rows the same
// that differ, whatever their text contains.
func TestChecksumSeparatesValues(t *testing.T) {
	rows := [][]any{
		{"ab", "c"}, {"a", "bc"}, {"", "abc"}, {nil, "abc"}, {"abc", nil}, {"abc", ""},
	}
	seen := map[string]bool{}
	for _, r := range rows {
		var buf []byte
		for _, v := range r {
			var err error
			if buf, err = appendCanon(buf, kText, v); err != nil {
				t.Fatal(err)
			}
		}
		if seen[string(buf)] {
			t.Errorf("row %q renders like an earlier one", r)
		}
		seen[string(buf)] = true
	}
	var c1, c2 checksum
	c1.addRow([]byte("x"))
	c1.addRow([]byte("y"))
	c2.addRow([]byte("y"))
	c2.addRow([]byte("x"))
	if c1 != c2 {
		t.Error("the checksum depends on row order")
	}
	raw, _ := json.Marshal("x")
	if _, err := appendCanon(nil, kJSON, json.RawMessage(raw)); err != nil {
		t.Error(err)
	}
}

func TestCopyDocs(t *testing.T) {
	from, to := t.TempDir(), filepath.Join(t.TempDir(), "shared")
	write := func(dir, name, content string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(from, "new.md", "---\nrole: member\n---\nnew\n")
	write(from, "same.md", "same\n")
	write(from, "differs.md", "mine\n")
	write(from, "notes.txt", "not markdown\n")
	write(filepath.Join(from, "global", "deep"), "nested.md", "nested\n")
	write(filepath.Join(from, "project"), "p.md", "p\n")
	write(filepath.Join(to, "project"), "p.md", "other\n")
	write(to, "same.md", "same\n")
	write(to, "differs.md", "theirs\n")
	got, err := CopyDocs(from, to)
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]string{}
	for _, d := range got {
		res[d.Name] = d.Result
	}
	if len(res) != 5 || !strings.HasPrefix(res["global/deep/nested.md"], "copied") || !strings.Contains(res["project/p.md"], "differs") ||
		!strings.HasPrefix(res["new.md"], "copied") || !strings.Contains(res["same.md"], "identical") ||
		!strings.Contains(res["differs.md"], "differs") {
		t.Errorf("CopyDocs reports %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(to, "differs.md")); string(b) != "theirs\n" {
		t.Errorf("an existing doc was overwritten: %q", b)
	}
	if st, err := os.Stat(filepath.Join(to, "new.md")); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("new.md: %v, %v; want 0644", st, err)
	}
	if b, _ := os.ReadFile(filepath.Join(to, "global", "deep", "nested.md")); string(b) != "nested\n" {
		t.Errorf("nested doc: %q", b)
	}
	if c, err := DocConflicts(from, to); err != nil || strings.Join(c, ",") != "differs.md,project/p.md" {
		t.Errorf("DocConflicts = %v, %v", c, err)
	}
	if _, err := os.Stat(filepath.Join(to, "notes.txt")); err == nil {
		t.Error("a file that is not Markdown was copied")
	}
}

// TestMetaTextAgrees: a value of an upstream session as meta.upstream
// holds it (the target side) renders as the SQLite value it came from
// (the source side).
func TestMetaTextAgrees(t *testing.T) {
	for _, c := range []struct {
		col  string
		v    value
		json string
	}{
		{"title", text("x\ny <&> é 🚀"), ""},
		{"title", text(""), ""},
		{"char_offset", integer(-12345678901234), ""},
		{"char_offset", integer(0), ""},
		{"terminal_size", real(1.5), ""},
		{"terminal_size", real(1e300), ""},
		{"terminal_size", real(-0.000123), ""},
		{"closed", integer(1), "true"},
		{"closed", integer(0), "false"},
		{"adapter_metadata", text(`{"b": 1.50, "a": [1, 2, {"z": null}], "é": "x\ny", "n": 1e2}`), `{"a": [1, 2, {"z": null}], "b": 1.50, "n": 100, "é": "x\ny"}`},
		{"ux_state", text(`[]`), ""},
		{"ux_state", text(`{"<&>": "\u003c", "k": [true, false, {"": 12345678901234567890}]}`), ""},
	} {
		js := []byte(c.json)
		if c.json == "" {
			var err error
			switch c.v.typ {
			case sqlite3.TEXT:
				if isUpstreamJSON(c.col) {
					js = c.v.b
				} else {
					js = appendJSONString(nil, string(c.v.b))
				}
			case sqlite3.INTEGER:
				js, err = appendJSONValue(nil, c.v.i)
			case sqlite3.FLOAT:
				js, err = appendJSONValue(nil, c.v.f)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		want := upstreamCanon(nil, c.col, c.v)
		got, err := appendMetaText(appendLen(nil, 'c', []byte(c.col)), c.col, js)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s %s: meta %s renders %q (%v); the source %q", c.col, describeValue(c.v), js, got, err, want)
		}
	}
	for _, bad := range []string{`null`, `[1]`, `{"a":1}`, `"unterminated`, `1.`} {
		if _, err := appendMetaText(nil, "title", []byte(bad)); err == nil {
			t.Errorf("meta.upstream.title %s was accepted", bad)
		}
	}
}

// parseNaive is a shortcut past time.Parse for upstream's usual form: on
// every input it accepts it must give what the layouts give.
func TestParseNaiveAgrees(t *testing.T) {
	slow := func(s string) (time.Time, bool) {
		for _, l := range naiveLayouts {
			if tm, err := time.ParseInLocation(l, s, time.UTC); err == nil {
				return tm, true
			}
		}
		return time.Time{}, false
	}
	inputs := []string{
		"2026-01-02 15:04:05", "2026-01-02T15:04:05", "2026-01-02 15:04:05.1", "2026-01-02 15:04:05.123456",
		"2026-01-02 15:04:05.123456789", "2026-01-02 15:04:05.1234567891", "2026-01-02 15:04:05,5", "2026-01-02 15:04:05.",
		"2024-02-29 00:00:00", "2023-02-29 00:00:00", "2026-04-31 10:00:00", "2026-13-01 10:00:00", "2026-00-01 10:00:00",
		"2026-01-00 10:00:00", "2026-01-02 24:00:00", "2026-01-02 23:60:00", "2026-01-02 23:59:60", "0000-01-01 00:00:00",
		"9999-12-31 23:59:59.999999999", "2026-01-02 5:04:05", "2026-1-02 15:04:05", "2026-01-02x15:04:05", "2026-01-02 15:04",
		"2026-01-02 15:04:05Z", "2026-01-02 15:04:05+00:00", "2026-01-02 15:04:05.12a", "20a6-01-02 15:04:05", "2026-01-02 15:04:05.-1",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const chars = "0123456789-: T.,Z+"
	for i := 0; i < 200000; i++ {
		b := []byte(inputs[rng.IntN(len(inputs))])
		for j := rng.IntN(3); j > 0; j-- {
			b[rng.IntN(len(b))] = chars[rng.IntN(len(chars))]
		}
		inputs = append(inputs, string(b))
	}
	accepted := 0
	for _, s := range inputs {
		fast, ok := parseNaive(s)
		want, wok := slow(s)
		if ok && (!wok || !fast.Equal(want) || fast.Location() != want.Location()) {
			t.Fatalf("parseNaive(%q) = %v; the layouts give %v, %v", s, fast, want, wok)
		}
		if ok {
			accepted++
		}
		if got, f, ok := parseTimeText([]byte(s)); ok && wok && (!got.Equal(want) || f != fTimeNoZone) {
			t.Fatalf("parseTimeText(%q) = %v (form %d); want %v", s, got, f, want)
		}
	}
	if accepted < 300 {
		t.Fatalf("parseNaive accepted only %d inputs", accepted)
	}
}

// appendJSONString and appendJSONText copy plain strings as they are:
// every string must come out as json.Marshal writes it.
func TestAppendJSONStringAgrees(t *testing.T) {
	pieces := []string{"a", "Z", " ", "\"", "\\", "<", ">", "&", "\x00", "\x1f", "\x7f", "\n", "\t", "\b", "\f", "é", "🚀",
		"\u2028", "\u2029", "\xe2\x80", "\xff", "\xc3", "\ufffd", "/", "'", "\u00a0"}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100000; i++ {
		var s strings.Builder
		for j := rng.IntN(8); j > 0; j-- {
			s.WriteString(pieces[rng.IntN(len(pieces))])
		}
		want, _ := json.Marshal(s.String())
		if got := appendJSONString([]byte("x"), s.String()); string(got) != "x"+string(want) {
			t.Fatalf("appendJSONString(%q) = %s; json.Marshal gives %s", s.String(), got[1:], want)
		}
		if got := appendJSONText([]byte("x"), []byte(s.String())); string(got) != "x"+string(want) {
			t.Fatalf("appendJSONText(%q) = %s; json.Marshal gives %s", s.String(), got[1:], want)
		}
	}
}
