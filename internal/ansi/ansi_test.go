package ansi

import (
	"bytes"
	"strings"
	"testing"
)

func TestStrip(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello\n", "hello\n"},
		{"colours", "\x1b[1;31mred\x1b[0m and \x1b[38;5;200mpink\x1b[m\n", "red and pink\n"},
		{"crlf", "a\r\nb\r\n", "a\nb\n"},
		{"progress bar", "10%\r50%\r100%\n", "10%50%100%\n"},
		{"title", "\x1b]0;my title\x07text", "text"},
		{"osc with st", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"dcs", "\x1bPq#0;2;0;0;0\x1b\\after", "after"},
		{"charset and keypad", "\x1b(B\x1b=\x1b>x", "x"},
		{"bracketed paste markers", "\x1b[200~pasted\x1b[201~", "pasted"},
		{"private modes", "\x1b[?1049h\x1b[?25lscreen\x1b[?1049l", "screen"},
		{"controls dropped, tabs kept", "a\x07b\x08c\td\x00e\x7f", "abc\tde"},
		{"unicode kept", "naïve ✓ 日本\n", "naïve ✓ 日本\n"},
		{"c1 csi dropped", "a\u009b31mb", "a31mb"},
		{"control ends a csi", "\x1b[12\nx", "\nx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := Strip([]byte(tt.in), true)
			if string(got) != tt.want || n != len(tt.in) {
				t.Errorf("Strip(%q) = %q, %d; want %q, %d", tt.in, got, n, tt.want, len(tt.in))
			}
			// A reused buffer: what it held stays, the text follows.
			got, n = AppendStrip([]byte("kept|"), []byte(tt.in), true)
			if string(got) != "kept|"+tt.want || n != len(tt.in) {
				t.Errorf("AppendStrip(\"kept|\", %q) = %q, %d; want %q, %d", tt.in, got, n, "kept|"+tt.want, len(tt.in))
			}
		})
	}
}

// TestStreaming feeds every split of an input in two pieces, as reads from
// a growing log file do, and expects the same text as in one piece.
func TestStreaming(t *testing.T) {
	in := []byte("\x1b[1;32m✓ done\x1b[0m\r\n\x1b]0;t\x07naïve\r\nend")
	want, _ := Strip(in, true)
	for cut := 0; cut <= len(in); cut++ {
		a, n := Strip(in[:cut], false)
		rest := append(append([]byte(nil), in[n:cut]...), in[cut:]...)
		b, m := Strip(rest, true)
		if got := append(a, b...); !bytes.Equal(got, want) || m != len(rest) {
			t.Fatalf("split at %d: %q + %q = %q, want %q", cut, a, b, got, want)
		}
	}
}

func TestUnterminated(t *testing.T) {
	// Not final: held back, waiting for the rest.
	if got, n := Strip([]byte("ok\x1b]0;no end"), false); string(got) != "ok" || n != 2 {
		t.Errorf("unterminated OSC = %q, %d; want ok, 2", got, n)
	}
	// A sequence longer than any real one loses its introducer; the rest
	// is text, and text after it is kept.
	long := append(append([]byte("ok\x1b]0;"), bytes.Repeat([]byte("x"), maxSeq)...), "\nafter\n"...)
	if got, n := Strip(long, false); !strings.HasPrefix(string(got), "ok0;xxx") || !strings.HasSuffix(string(got), "x\nafter\n") || n != len(long) {
		t.Errorf("overlong OSC = %.20q…, %d; want the text kept, %d consumed", got, n, len(long))
	}
	if got, _ := Strip([]byte("before\x1b]0;title\nafter"), true); string(got) != "before0;title\nafter" {
		t.Errorf("unterminated OSC at the end = %q, want the text after it kept", got)
	}
	if got, n := Strip([]byte("a\xe2\x9c"), false); string(got) != "a" || n != 1 {
		t.Errorf("cut UTF-8 = %q, %d; want a, 1", got, n)
	}
	if got, n := Strip([]byte("a\r"), false); string(got) != "a" || n != 1 {
		t.Errorf("trailing CR = %q, %d; want a, 1 (may be CRLF)", got, n)
	}
}

func FuzzStrip(f *testing.F) {
	f.Add([]byte("\x1b[1mx\x1b]0;t\x07\r\n"), 3)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if cut < 0 || cut > len(in) {
			return
		}
		whole, n := Strip(in, true)
		if n != len(in) {
			t.Fatalf("final Strip consumed %d of %d", n, len(in))
		}
		if bytes.IndexByte(whole, esc) >= 0 || bytes.IndexByte(whole, '\r') >= 0 {
			t.Fatalf("output keeps ESC or CR: %q", whole)
		}
		a, m := Strip(in[:cut], false)
		if m > cut {
			t.Fatalf("consumed %d of %d", m, cut)
		}
		b, _ := Strip(in[m:], true)
		if len(in) < maxSeq && !bytes.Equal(append(a, b...), whole) {
			t.Fatalf("streamed %q+%q != whole %q", a, b, whole)
		}
	})
}
