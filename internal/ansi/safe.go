package ansi

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal as it is: control
// characters other than newline and tab (ESC starts every escape sequence:
// clipboard writes, titles, screen clears), C1 controls, and the invisible
// format characters, bidirectional overrides among them, which make text
// read differently from what it is.
func Unsafe(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r == utf8.RuneError:
		return false // shown as the replacement character, harmless
	}
	return unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// FirstUnsafe returns the byte offset and rune of the first character of
// s that Unsafe refuses, or -1.
func FirstUnsafe(s string) (int, rune) {
	for i, r := range s {
		if Unsafe(r) {
			return i, r
		}
	}
	return -1, 0
}

// Sanitize returns s with every unsafe character written out visibly
// (\x1b, \u202e): text from the daemon, or from whoever answers on its
// socket, is shown, never obeyed. "\r\n" is kept.
func Sanitize(s string) string {
	if i, _ := FirstUnsafe(s); i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i, r := range s {
		if r == '\r' && strings.HasPrefix(s[i:], "\r\n") {
			b.WriteByte('\r')
			continue
		}
		writeRune(&b, r)
	}
	return b.String()
}

// OneLine is Sanitize that also writes newlines and tabs out (\x0a):
// text another party supplied, bound for a log line, cannot start a line
// of its own that reads like the daemon's.
func OneLine(s string) string {
	s = Sanitize(s)
	if !strings.ContainsAny(s, "\n\t\r") {
		return s
	}
	return strings.NewReplacer("\n", `\x0a`, "\t", `\x09`, "\r", `\x0d`).Replace(s)
}

func writeRune(b *strings.Builder, r rune) {
	switch {
	case !Unsafe(r):
		b.WriteRune(r)
	case r < 0x80:
		fmt.Fprintf(b, `\x%02x`, r)
	default:
		fmt.Fprintf(b, `\u%04x`, r)
	}
}

// SafeWriter passes what is written through Sanitize on its way to W. A
// character or "\r\n" cut by the end of one Write is held for the next;
// Flush writes out whatever is held.
type SafeWriter struct {
	W       io.Writer
	pending []byte
}

// NewSafeWriter returns a SafeWriter writing to w.
func NewSafeWriter(w io.Writer) *SafeWriter { return &SafeWriter{W: w} }

func (s *SafeWriter) Write(p []byte) (int, error) {
	buf := append(s.pending, p...)
	cut := len(buf)
	// Hold back an incomplete UTF-8 character or a final '\r'.
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	if cut > 0 && cut == len(buf) && buf[cut-1] == '\r' {
		cut--
	}
	out := Sanitize(string(buf[:cut]))
	s.pending = append(s.pending[:0:0], buf[cut:]...)
	if _, err := io.WriteString(s.W, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes out what Write held back.
func (s *SafeWriter) Flush() error {
	if len(s.pending) == 0 {
		return nil
	}
	out := Sanitize(string(s.pending))
	s.pending = nil
	_, err := io.WriteString(s.W, out)
	return err
}
