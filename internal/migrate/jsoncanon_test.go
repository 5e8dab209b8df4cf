package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// The reference: canonJSON and hasDuplicateKeys as they were written on
// encoding/json's token stream, which the faster jsonReader replaces.
func refCanonJSON(b []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	out, err := refCanonValue(d, nil)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("canonical JSON: more than one value")
	}
	return out, nil
}

func refCanonValue(d *json.Decoder, out []byte) ([]byte, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return append(out, "null"...), nil
	case bool:
		if t {
			return append(out, "true"...), nil
		}
		return append(out, "false"...), nil
	case json.Number:
		r, ok := new(big.Rat).SetString(string(t))
		if !ok {
			return nil, fmt.Errorf("number %q", t)
		}
		return append(out, r.RatString()...), nil
	case string:
		b, _ := json.Marshal(t)
		return append(out, b...), nil
	case json.Delim:
		switch t {
		case '[':
			out = append(out, '[')
			for i := 0; d.More(); i++ {
				if i > 0 {
					out = append(out, ',')
				}
				if out, err = refCanonValue(d, out); err != nil {
					return nil, err
				}
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return append(out, ']'), nil
		case '{':
			type pair struct {
				key string
				val []byte
			}
			var pairs []pair
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				ks, ok := k.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v", k)
				}
				v, err := refCanonValue(d, nil)
				if err != nil {
					return nil, err
				}
				pairs = append(pairs, pair{ks, v})
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].key < pairs[j].key })
			out = append(out, '{')
			for i, p := range pairs {
				if i > 0 {
					out = append(out, ',')
				}
				b, _ := json.Marshal(p.key)
				out = append(append(append(out, b...), ':'), p.val...)
			}
			return append(out, '}'), nil
		}
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

func refHasDuplicateKeys(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expKey bool
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				if top != nil && top.obj {
					top.expKey = true
				}
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expKey: true})
			case '[':
				if top != nil && top.obj {
					top.expKey = true
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.obj && top.expKey {
				if top.keys[t] {
					return true
				}
				top.keys[t] = true
				top.expKey = false
				continue
			}
		}
		if top != nil && top.obj {
			top.expKey = true
		}
	}
}

var jsonCorpus = []string{
	`null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `1.0`, `1.50`, `1e2`, `1E+2`, `1e-2`, `-0.0e0`, `123456789012345678`,
	`1234567890123456789`, `-9223372036854775808`, `99999999999999999999999`, `0.1`, `3.14159e10`, `01`, `1.`, `.5`, `-`, `+1`,
	`""`, `"a"`, `"\u0000"`, `"\ud83d\ude80"`, `"\ud83d"`, `"\ud83dx"`, `"\ude80"`, `"\ud83d\u0041"`, `"\uD83D\uDE80"`, `"\u00e9"`,
	`"é"`, "\"\xff\"", "\"a\xc3\"", `"<>&"`, `"\u2028"`, `"\/"`, `"\b\f\n\r\t"`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"\x01\"",
	`[]`, `[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `{}`, `{"a":1}`, `{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":{"x":1,"x":2}}`,
	`{"a":[{"k":1},{"k":2,"k":3}]}`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`, ` {"a" : [ 1 , "x" ] } `,
	`{"é":1,"e":2,"\u00e9":3}`, `{"model":"opus","n":7,"tags":["a","b"]}`, `1 2`, `{} {}`, `[] x`, `tru`, `nul`, `falsey`,
	`{"a":1}}`, `[[[[]]]]`, `{"":0}`, `{"a":"\u0000","b":null}`, "\t\n\r 1 \t", "\v1", `"abc`, `{"a":1`, `[`, ``,
}

func TestJSONReaderAgrees(t *testing.T) {
	inputs := append([]string(nil), jsonCorpus...)
	inputs = append(inputs, strings.Repeat("[", 10000)+strings.Repeat("]", 10000), strings.Repeat("[", 10001)+strings.Repeat("]", 10001))
	rng := rand.New(rand.NewPCG(5, 6))
	const chars = "{}[]\",:\\u0123456789abcdefeE.-+ tnrl\x00\xff\xc3é"
	for i := 0; i < 100000; i++ {
		b := []byte(jsonCorpus[rng.IntN(len(jsonCorpus))])
		if len(b) > 0 {
			for j := rng.IntN(3); j > 0; j-- {
				switch rng.IntN(3) {
				case 0:
					b[rng.IntN(len(b))] = chars[rng.IntN(len(chars))]
				case 1:
					k := rng.IntN(len(b) + 1)
					b = append(b[:k], append([]byte{chars[rng.IntN(len(chars))]}, b[k:]...)...)
				default:
					o := jsonCorpus[rng.IntN(len(jsonCorpus))]
					k := rng.IntN(len(b) + 1)
					b = append(b[:k], append([]byte(o), b[k:]...)...)
				}
			}
		}
		inputs = append(inputs, string(b))
	}
	valid := 0
	for _, s := range inputs {
		want, werr := refCanonJSON([]byte(s))
		got, err := canonJSON([]byte(s))
		if (werr == nil) != (err == nil) || !bytes.Equal(got, want) {
			t.Fatalf("canonJSON(%.200q) = %.200q, %v; encoding/json's gives %.200q, %v", s, got, err, want, werr)
		}
		if werr == nil {
			valid++
			if a, b := hasDuplicateKeys([]byte(s)), refHasDuplicateKeys([]byte(s)); a != b {
				t.Fatalf("hasDuplicateKeys(%.200q) = %v; encoding/json's gives %v", s, a, b)
			}
		}
		if v := json.Valid([]byte(s)); len(s) < 20000 && (v && errors.Is(err, errJSONSyntax) || !v && err == nil) {
			t.Fatalf("canonJSON(%.200q): %v, but json.Valid says %v", s, err, json.Valid([]byte(s)))
		}
	}
	if valid < 5000 {
		t.Fatalf("only %d of the inputs were valid JSON", valid)
	}
}
