package ansi

import (
	"bytes"
	"testing"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\n\tindented":           "plain text\n\tindented",
		"copy \x1b]52;c;ZXZpbA==\x07 this": `copy \x1b]52;c;ZXZpbA==\x07 this`,
		"\x1b[2J\x1b[Hcleared":             `\x1b[2J\x1b[Hcleared`,
		"title\x1b]0;pwned\x1b\\":          `title\x1b]0;pwned\x1b\`,
		"abc\u202edcb.exe":                 `abc\u202edcb.exe`,
		"zero\u200bwidth":                  `zero\u200bwidth`,
		"csi\u009b31m":                     `csi\u009b31m`,
		"hide\rshown":                      `hide\x0dshown`,
		"windows\r\nline":                  "windows\r\nline",
		"héllo wörld — ✓":                  "héllo wörld — ✓",
		"bell\a del\x7f":                   `bell\x07 del\x7f`,
		"line\u2028sep":                    `line\u2028sep`,
		"invalid \xff byte":                "invalid \xff byte",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSafeWriterPieces writes one text a byte at a time and whole: the
// same output, however the writes cut it.
func TestSafeWriterPieces(t *testing.T) {
	in := "a\u202eb\r\nc\x1b[1md ✓\r"
	var whole, pieces bytes.Buffer
	w := NewSafeWriter(&whole)
	w.Write([]byte(in))
	w.Flush()
	p := NewSafeWriter(&pieces)
	for i := range len(in) {
		p.Write([]byte{in[i]})
	}
	p.Flush()
	want := `a\u202eb` + "\r\n" + `c\x1b[1md ✓\x0d`
	if whole.String() != want || pieces.String() != want {
		t.Errorf("whole %q, pieces %q; want %q", whole.String(), pieces.String(), want)
	}
}

func TestOneLine(t *testing.T) {
	in := "failed\ntime=\"2026\" level=info msg=\"fake\"\x1b[8m\r\n"
	want := `failed\x0atime="2026" level=info msg="fake"\x1b[8m\x0d\x0a`
	if got := OneLine(in); got != want {
		t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
	}
}
