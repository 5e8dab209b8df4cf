package migrate

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A JSON reader for the checksum's canonical form (canonJSON) and for
// telling duplicate keys apart, written for speed: encoding/json's token
// stream, an allocation per token, was most of the cost of a session's
// meta on both sides of the checksum. It accepts what encoding/json
// accepts and decodes strings as it does (invalid UTF-8 and lone
// surrogates become U+FFFD); TestJSONReaderAgrees holds it to that.

type jsonReader struct {
	in  []byte
	pos int
	dup bool   // an object named a key twice
	str []byte // scratch for decoded strings
	key []byte // objectMembers' current key
}

var errJSONSyntax = errors.New("invalid JSON")

func (r *jsonReader) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errJSONSyntax, what, r.pos)
}

func (r *jsonReader) ws() {
	for r.pos < len(r.in) {
		switch r.in[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// canonDoc renders the whole input, which must be one JSON value.
func (r *jsonReader) canonDoc(out []byte) ([]byte, error) {
	out, err := r.canonValue(out)
	if err != nil {
		return nil, err
	}
	r.ws()
	if r.pos != len(r.in) {
		return nil, r.fail("more than one value")
	}
	return out, nil
}

// canonValue renders the value at pos as canonJSON does: object keys
// sorted (stably: duplicates kept in their order), numbers as exact
// rationals, strings decoded and written as json.Marshal writes them.
func (r *jsonReader) canonValue(out []byte) ([]byte, error) {
	r.ws()
	if r.pos >= len(r.in) {
		return nil, r.fail("unexpected end")
	}
	switch c := r.in[r.pos]; {
	case c == '{':
		return r.canonObject(out)
	case c == '[':
		r.pos++
		out = append(out, '[')
		r.ws()
		if r.pos < len(r.in) && r.in[r.pos] == ']' {
			r.pos++
			return append(out, ']'), nil
		}
		for {
			var err error
			if out, err = r.canonValue(out); err != nil {
				return nil, err
			}
			r.ws()
			if r.pos >= len(r.in) {
				return nil, r.fail("unexpected end")
			}
			switch r.in[r.pos] {
			case ',':
				r.pos++
				out = append(out, ',')
				continue
			case ']':
				r.pos++
				return append(out, ']'), nil
			}
			return nil, r.fail("expected , or ]")
		}
	case c == '"':
		s, err := r.readString()
		if err != nil {
			return nil, err
		}
		return appendJSONString(out, string(s)), nil
	case c == '-' || (c >= '0' && c <= '9'):
		num, err := r.readNumber()
		if err != nil {
			return nil, err
		}
		return appendRat(out, num)
	case c == 't':
		return r.literal(out, "true")
	case c == 'f':
		return r.literal(out, "false")
	case c == 'n':
		return r.literal(out, "null")
	}
	return nil, r.fail(fmt.Sprintf("unexpected %q", r.in[r.pos]))
}

func (r *jsonReader) literal(out []byte, lit string) ([]byte, error) {
	if len(r.in)-r.pos < len(lit) || string(r.in[r.pos:r.pos+len(lit)]) != lit {
		return nil, r.fail("bad literal")
	}
	r.pos += len(lit)
	return append(out, lit...), nil
}

type canonPair struct {
	key, val []byte // the key decoded; the value rendered
}

func (r *jsonReader) canonObject(out []byte) ([]byte, error) {
	r.pos++ // {
	var pairs []canonPair
	r.ws()
	if r.pos < len(r.in) && r.in[r.pos] == '}' {
		r.pos++
		return append(out, "{}"...), nil
	}
	for {
		r.ws()
		if r.pos >= len(r.in) || r.in[r.pos] != '"' {
			return nil, r.fail("expected a key")
		}
		k, err := r.readString()
		if err != nil {
			return nil, err
		}
		key := slices.Clone(k)
		r.ws()
		if r.pos >= len(r.in) || r.in[r.pos] != ':' {
			return nil, r.fail("expected :")
		}
		r.pos++
		val, err := r.canonValue(nil)
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			if string(p.key) == string(key) {
				r.dup = true
				break
			}
		}
		pairs = append(pairs, canonPair{key, val})
		r.ws()
		if r.pos >= len(r.in) {
			return nil, r.fail("unexpected end")
		}
		if r.in[r.pos] == ',' {
			r.pos++
			continue
		}
		if r.in[r.pos] != '}' {
			return nil, r.fail("expected , or }")
		}
		r.pos++
		break
	}
	slices.SortStableFunc(pairs, func(a, b canonPair) int {
		switch {
		case string(a.key) < string(b.key):
			return -1
		case string(a.key) > string(b.key):
			return 1
		}
		return 0
	})
	out = append(out, '{')
	for i, p := range pairs {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, string(p.key))
		out = append(out, ':')
		out = append(out, p.val...)
	}
	return append(out, '}'), nil
}

// readString decodes the string at pos into r.str (valid until the next
// call), as encoding/json decodes it.
func (r *jsonReader) readString() ([]byte, error) {
	r.pos++ // "
	r.str = r.str[:0]
	for {
		start := r.pos
		for r.pos < len(r.in) {
			c := r.in[r.pos]
			if c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				break
			}
			r.pos++
		}
		r.str = append(r.str, r.in[start:r.pos]...)
		if r.pos >= len(r.in) {
			return nil, r.fail("unterminated string")
		}
		c := r.in[r.pos]
		switch {
		case c == '"':
			r.pos++
			return r.str, nil
		case c < 0x20:
			return nil, r.fail("control character in string")
		case c >= utf8.RuneSelf:
			rr, size := utf8.DecodeRune(r.in[r.pos:])
			if rr == utf8.RuneError && size == 1 {
				r.str = utf8.AppendRune(r.str, utf8.RuneError)
			} else {
				r.str = append(r.str, r.in[r.pos:r.pos+size]...)
			}
			r.pos += size
		default: // a backslash
			if r.pos+1 >= len(r.in) {
				return nil, r.fail("unterminated string")
			}
			e := r.in[r.pos+1]
			switch e {
			case '"', '\\', '/':
				r.str = append(r.str, e)
			case 'b':
				r.str = append(r.str, '\b')
			case 'f':
				r.str = append(r.str, '\f')
			case 'n':
				r.str = append(r.str, '\n')
			case 'r':
				r.str = append(r.str, '\r')
			case 't':
				r.str = append(r.str, '\t')
			case 'u':
				rr, ok := hex4(r.in[r.pos+2:])
				if !ok {
					return nil, r.fail("bad \\u escape")
				}
				r.pos += 6
				if utf16.IsSurrogate(rr) {
					if rest := r.in[r.pos:]; len(rest) >= 6 && rest[0] == '\\' && rest[1] == 'u' {
						if rr1, ok := hex4(rest[2:]); ok {
							if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
								r.pos += 6
								r.str = utf8.AppendRune(r.str, dec)
								continue
							}
						}
					}
					rr = utf8.RuneError
				}
				r.str = utf8.AppendRune(r.str, rr)
				continue
			default:
				return nil, r.fail("bad escape")
			}
			r.pos += 2
		}
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var n rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		n = n*16 + rune(c)
	}
	return n, true
}

// readNumber checks JSON's number grammar and returns the number's text.
func (r *jsonReader) readNumber() ([]byte, error) {
	start := r.pos
	in := r.in
	digits := func() int {
		n := 0
		for r.pos < len(in) && in[r.pos] >= '0' && in[r.pos] <= '9' {
			r.pos++
			n++
		}
		return n
	}
	if in[r.pos] == '-' {
		r.pos++
	}
	if r.pos < len(in) && in[r.pos] == '0' {
		r.pos++
	} else if digits() == 0 {
		return nil, r.fail("bad number")
	}
	if r.pos < len(in) && in[r.pos] == '.' {
		r.pos++
		if digits() == 0 {
			return nil, r.fail("bad number")
		}
	}
	if r.pos < len(in) && (in[r.pos] == 'e' || in[r.pos] == 'E') {
		r.pos++
		if r.pos < len(in) && (in[r.pos] == '+' || in[r.pos] == '-') {
			r.pos++
		}
		if digits() == 0 {
			return nil, r.fail("bad number")
		}
	}
	return in[start:r.pos], nil
}

// appendRat writes a JSON number as an exact rational (big.Rat's
// RatString); integers of up to 18 digits without big.Rat.
func appendRat(out, num []byte) ([]byte, error) {
	digits := num
	neg := len(digits) > 0 && digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	if len(digits) > 0 && len(digits) <= 18 {
		var n int64
		plain := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				plain = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if plain {
			if neg {
				n = -n
			}
			return strconv.AppendInt(out, n, 10), nil
		}
	}
	rat, ok := new(big.Rat).SetString(string(num))
	if !ok {
		return nil, fmt.Errorf("number %q", num)
	}
	return append(out, rat.RatString()...), nil
}

// skipValue steps over the value at pos, checking it as canonValue
// would without rendering it, and returns its text.
func (r *jsonReader) skipValue() ([]byte, error) {
	r.ws()
	start := r.pos
	if err := r.skip(); err != nil {
		return nil, err
	}
	return r.in[start:r.pos], nil
}

func (r *jsonReader) skip() error {
	r.ws()
	if r.pos >= len(r.in) {
		return r.fail("unexpected end")
	}
	switch c := r.in[r.pos]; {
	case c == '{' || c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		r.pos++
		r.ws()
		if r.pos < len(r.in) && r.in[r.pos] == end {
			r.pos++
			return nil
		}
		for {
			if end == '}' {
				r.ws()
				if r.pos >= len(r.in) || r.in[r.pos] != '"' {
					return r.fail("expected a key")
				}
				if _, err := r.readString(); err != nil {
					return err
				}
				r.ws()
				if r.pos >= len(r.in) || r.in[r.pos] != ':' {
					return r.fail("expected :")
				}
				r.pos++
			}
			if err := r.skip(); err != nil {
				return err
			}
			r.ws()
			if r.pos >= len(r.in) {
				return r.fail("unexpected end")
			}
			if r.in[r.pos] == ',' {
				r.pos++
				continue
			}
			if r.in[r.pos] != end {
				return r.fail("expected , or " + string(end))
			}
			r.pos++
			return nil
		}
	case c == '"':
		_, err := r.readString()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := r.readNumber()
		return err
	case c == 't':
		_, err := r.literal(nil, "true")
		return err
	case c == 'f':
		_, err := r.literal(nil, "false")
		return err
	case c == 'n':
		_, err := r.literal(nil, "null")
		return err
	}
	return r.fail(fmt.Sprintf("unexpected %q", r.in[r.pos]))
}

// objectMembers calls f with each member of the object at pos: its key
// (decoded, valid during the call) and its value's text.
func (r *jsonReader) objectMembers(f func(key, val []byte) error) error {
	r.ws()
	if r.pos >= len(r.in) || r.in[r.pos] != '{' {
		return r.fail("expected an object")
	}
	r.pos++
	r.ws()
	if r.pos < len(r.in) && r.in[r.pos] == '}' {
		r.pos++
		return nil
	}
	for {
		r.ws()
		if r.pos >= len(r.in) || r.in[r.pos] != '"' {
			return r.fail("expected a key")
		}
		k, err := r.readString()
		if err != nil {
			return err
		}
		r.key = append(r.key[:0], k...) // r.str is reused within the value
		r.ws()
		if r.pos >= len(r.in) || r.in[r.pos] != ':' {
			return r.fail("expected :")
		}
		r.pos++
		val, err := r.skipValue()
		if err != nil {
			return err
		}
		if err := f(r.key, val); err != nil {
			return err
		}
		r.ws()
		if r.pos >= len(r.in) {
			return r.fail("unexpected end")
		}
		if r.in[r.pos] == ',' {
			r.pos++
			continue
		}
		if r.in[r.pos] != '}' {
			return r.fail("expected , or }")
		}
		r.pos++
		return nil
	}
}
