// Package ansi turns a terminal's output stream into plain text for
// transcripts: escape sequences (colours, cursor movement, titles, bracketed
// paste markers) and control characters are removed, line ends normalised.
//
// It works on a stream read in pieces: a sequence or a UTF-8 character cut
// by the end of a piece is left unconsumed, to be read again with the next.
package ansi

import "unicode/utf8"

// maxSeq bounds an escape sequence that never terminates (a broken OSC);
// past it the sequence is dropped rather than holding back all output.
const maxSeq = 4096

const (
	esc = 0x1b
	bel = 0x07
)

// Strip returns the plain text of p and how many bytes of p it consumed.
// Unless final is set, an escape sequence or UTF-8 character cut off at the
// end of p is not consumed; with final, whatever remains is dropped.
//
// Kept: printable text, newlines and tabs. "\r\n" becomes "\n"; a lone "\r"
// (a progress bar redrawing its line) and other control characters are
// dropped. Invalid UTF-8 passes through for the store to replace.
func Strip(p []byte, final bool) (text []byte, n int) {
	return AppendStrip(make([]byte, 0, len(p)), p, final)
}

// AppendStrip is Strip appending the text to dst: a caller reading a
// stream keeps one buffer rather than allocate one per piece.
func AppendStrip(dst, p []byte, final bool) (text []byte, n int) {
	out := dst
	i := 0
	for i < len(p) {
		// Most output is runs of printable ASCII: copied a run at a time.
		if j := printableRun(p[i:]); j > 0 {
			out = append(out, p[i:i+j]...)
			i += j
			continue
		}
		c := p[i]
		switch {
		case c == esc:
			l, complete := seqLen(p[i:])
			if !complete {
				if !final && len(p)-i < maxSeq {
					return out, i
				}
				// Never terminated (a broken sequence, or binary output):
				// drop its introducer and read on; what follows is text.
				l = min(2, len(p)-i)
			}
			i += l
		case c == '\r':
			if i+1 == len(p) && !final {
				return out, i // may be the first half of "\r\n"
			}
			if i+1 < len(p) && p[i+1] == '\n' {
				out = append(out, '\n')
				i += 2
				continue
			}
			i++
		case c == '\n' || c == '\t':
			out = append(out, c)
			i++
		case c < 0x20 || c == 0x7f:
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			if !final && !utf8.FullRune(p[i:]) {
				return out, i
			}
			r, size := utf8.DecodeRune(p[i:])
			if r >= 0x80 && r <= 0x9f {
				// C1 controls (8-bit CSI and friends, UTF-8 encoded).
				i += size
				continue
			}
			out = append(out, p[i:i+size]...)
			i += size
		}
	}
	return out, i
}

// printableRun is how many bytes at the start of p are printable ASCII
// (0x20 to 0x7e).
func printableRun(p []byte) int {
	for i, c := range p {
		if c < 0x20 || c > 0x7e {
			return i
		}
	}
	return len(p)
}

// seqLen measures the escape sequence at the start of p (p[0] is ESC). It
// reports false when p ends before the sequence does.
func seqLen(p []byte) (int, bool) {
	if len(p) < 2 {
		return 0, false
	}
	switch p[1] {
	case '[': // CSI: parameters and intermediates, then a final byte 0x40–0x7e
		for i := 2; i < len(p); i++ {
			if p[i] >= 0x40 && p[i] <= 0x7e {
				return i + 1, true
			}
			if p[i] < 0x20 || p[i] > 0x7e {
				// A control or non-ASCII byte inside a CSI ends it; the
				// byte itself is output, not part of the sequence.
				return i, true
			}
		}
		return 0, false
	case ']', 'P', 'X', '^', '_': // OSC, DCS, SOS, PM, APC: up to BEL or ST
		for i := 2; i < len(p); i++ {
			if p[i] == bel && p[1] == ']' {
				return i + 1, true
			}
			if p[i] == esc {
				if i+1 == len(p) {
					return 0, false
				}
				if p[i+1] == '\\' {
					return i + 2, true
				}
			}
		}
		return 0, false
	default: // ESC, intermediates 0x20–0x2f, then a final byte
		for i := 1; i < len(p); i++ {
			if p[i] < 0x20 || p[i] > 0x2f {
				return i + 1, true
			}
		}
		return 0, false
	}
}
