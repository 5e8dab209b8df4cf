package prefs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/instruktai/teleclaude/internal/secretscan"
)

// Header is the HTTP header that carries a user's preferences, as compact
// JSON, on every request telec makes.
const Header = "X-Teleclaude-Preferences"

// MaxHeader bounds the header's value; the whole allow-list fits in a
// fraction of it.
const MaxHeader = 4096

// Encode is the header's value: compact JSON of the preferences that are
// set ("{}" for none).
func (p Preferences) Encode() string {
	b, _ := json.Marshal(p) // strings only: cannot fail
	return string(b)
}

// FromHeader checks a header value against the allow-list, exactly as the
// file is checked, and decodes it. An empty value is no preferences.
func FromHeader(v string) (Preferences, error) {
	var p Preferences
	if v == "" {
		return p, nil
	}
	if len(v) > MaxHeader {
		return p, fmt.Errorf("%d bytes, over the %d-byte limit", len(v), MaxHeader)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(v))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return p, errors.New(`not a JSON object; want e.g. {"default_agent":"shell"}`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return p, errors.New("unexpected content after the JSON object")
	}
	byName := map[string]key{}
	for _, k := range keys {
		byName[k.name] = k
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	var msgs []string
	for _, n := range names {
		k, ok := byName[n]
		switch {
		case !ok && secretscan.Name(n):
			msgs = append(msgs, fmt.Sprintf("%q looks like the name of a secret; preferences never hold secrets", n))
			continue
		case !ok:
			msgs = append(msgs, fmt.Sprintf("unknown preference %q (allowed: %s)", n, strings.Join(Keys(), ", ")))
			continue
		}
		var s string
		if err := json.Unmarshal(raw[n], &s); err != nil || bytes.Equal(raw[n], []byte("null")) {
			msgs = append(msgs, fmt.Sprintf("%s must be a string", n))
			continue
		}
		if m := k.check(s); m != "" {
			msgs = append(msgs, m)
			continue
		}
		*k.field(&p) = s
	}
	if len(msgs) > 0 {
		return Preferences{}, errors.New(strings.Join(msgs, "; "))
	}
	return p, nil
}
