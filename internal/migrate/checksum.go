package migrate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// The checksum of a table is the sum, modulo 2^128, of the first 128 bits
// of each row's SHA-256 over a canonical rendering of its values. The sum
// does not depend on row order, so each side is read in its cheapest order;
// with the row counts equal and unique keys on both sides, equal sums mean
// equal rows.
//
// The source side is rendered from the values as SQLite holds them, before
// any conversion (canon.go), and the target side from the values as read
// back in binary from PostgreSQL inside the migrating transaction, so the
// comparison is between the source and the target, not between what was
// sent and itself: a conversion that changes a value (U+FFFD for a NUL,
// true for 'yes', one key for two) fails verification unless it was
// reported, in which case the source side takes the reported value (or
// the target side the original kept beside it). Each value is a
// tag and its content: N (NULL); S text and X bytes, length-prefixed; I an
// int64; B a boolean; T microseconds since 1970 UTC; F a float64's bits; J
// JSON re-encoded canonically (keys sorted, numbers as exact rationals,
// duplicate keys kept), because jsonb keeps neither the text's key order,
// spacing, nor number spelling.
type checksum struct{ hi, lo uint64 }

func (c *checksum) addRow(row []byte) {
	h := sha256.Sum256(row)
	var carry uint64
	c.lo, carry = bits.Add64(c.lo, binary.BigEndian.Uint64(h[8:16]), 0)
	c.hi, _ = bits.Add64(c.hi, binary.BigEndian.Uint64(h[0:8]), carry)
}

func (c checksum) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], c.hi)
	binary.BigEndian.PutUint64(b[8:], c.lo)
	return hex.EncodeToString(b[:])
}

func appendLen(buf []byte, tag byte, b []byte) []byte {
	buf = append(buf, tag)
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

func appendI64(buf []byte, tag byte, n int64) []byte {
	return binary.BigEndian.AppendUint64(append(buf, tag), uint64(n))
}

// appendCanon renders a converted source value.
func appendCanon(buf []byte, k kind, v any) ([]byte, error) {
	if v == nil {
		return append(buf, 'N'), nil
	}
	switch v := v.(type) {
	case string:
		if k == kText {
			return appendLen(buf, 'S', []byte(v)), nil
		}
	case int64:
		if k == kInt {
			return appendI64(buf, 'I', v), nil
		}
	case bool:
		if k == kBool {
			b := byte(0)
			if v {
				b = 1
			}
			return append(buf, 'B', b), nil
		}
	case time.Time:
		if k == kTime {
			return appendI64(buf, 'T', v.UnixMicro()), nil
		}
	case json.RawMessage:
		if k == kJSON {
			c, err := canonJSON(v)
			if err != nil {
				return nil, err
			}
			return appendLen(buf, 'J', c), nil
		}
	case float64:
		if k == kFloat {
			return appendI64(buf, 'F', int64(math.Float64bits(v))), nil
		}
	case []byte:
		if k == kBytes {
			return appendLen(buf, 'X', v), nil
		}
	}
	return nil, fmt.Errorf("internal error: a %T value for a column of kind %d", v, k)
}

// pgEpochMicros is 2000-01-01T00:00:00Z in microseconds since 1970:
// PostgreSQL's binary timestamps count from there.
const pgEpochMicros = 946_684_800_000_000

// appendCanonRaw renders a value read back from PostgreSQL in binary
// format (nil is NULL), exactly as appendCanon renders what was sent.
func appendCanonRaw(buf []byte, k kind, pgType string, raw []byte) ([]byte, error) {
	if raw == nil {
		return append(buf, 'N'), nil
	}
	bad := func() ([]byte, error) {
		return nil, fmt.Errorf("read back a %s: %d bytes of binary data make no sense", pgType, len(raw))
	}
	switch k {
	case kText:
		return appendLen(buf, 'S', raw), nil
	case kBytes:
		return appendLen(buf, 'X', raw), nil
	case kInt:
		var n int64
		switch len(raw) {
		case 2:
			n = int64(int16(binary.BigEndian.Uint16(raw)))
		case 4:
			n = int64(int32(binary.BigEndian.Uint32(raw)))
		case 8:
			n = int64(binary.BigEndian.Uint64(raw))
		default:
			return bad()
		}
		return appendI64(buf, 'I', n), nil
	case kBool:
		if len(raw) != 1 {
			return bad()
		}
		return append(buf, 'B', raw[0]), nil
	case kTime:
		if len(raw) != 8 {
			return bad()
		}
		return appendI64(buf, 'T', int64(binary.BigEndian.Uint64(raw))+pgEpochMicros), nil
	case kFloat:
		if len(raw) != 8 {
			return bad()
		}
		return appendI64(buf, 'F', int64(binary.BigEndian.Uint64(raw))), nil
	case kJSON:
		text := raw
		if pgType == "jsonb" {
			if len(raw) == 0 || raw[0] != 1 {
				return bad()
			}
			text = raw[1:]
		}
		c, err := canonJSON(text)
		if err != nil {
			return nil, err
		}
		return appendLen(buf, 'J', c), nil
	}
	return nil, fmt.Errorf("internal error: kind %d", k)
}

// canonJSON re-encodes a JSON document with object keys sorted and numbers
// as exact rationals, so that text and jsonb renderings of one value agree.
// Duplicate keys are kept, each pair in its place after a stable sort by
// key, and strings as decoded (a \u0000 escape stays a NUL): JSON text
// with duplicates or \u0000 renders differently from any jsonb value, so
// jsonb's collapsing of the one or refusal of the other cannot go unseen.
func canonJSON(b []byte) ([]byte, error) {
	r := jsonReader{in: b}
	out, err := r.canonDoc(nil)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	return out, nil
}
