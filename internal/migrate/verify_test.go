package migrate

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/pgtest"
)

// TestUnreportedChangeFailsVerification: the checksum compares the source
// as SQLite holds it with the target as PostgreSQL holds it. A converter
// that changes one value without reporting it (the test hook stands for
// the broken converter: U+FFFD for a NUL, true for 'yes', one JSON key for
// two, a changed number) makes verification fail, naming the table, and
// nothing is committed; the same migration without the broken converter
// verifies.
func TestUnreportedChangeFailsVerification(t *testing.T) {
	ours, _ := newPair(t, genOpts{transcripts: 10})
	upstream := awkwardDB(t,
		`INSERT INTO sessions (session_id, computer_name, title, initiated_by_ai, adapter_metadata, created_at) VALUES ('s1', 'box', 'title', 1, '{"a": 1, "b": [2]}', '2026-01-02 03:04:05')`,
		`INSERT INTO system_settings (key, value) VALUES ('k', 'v')`,
		`INSERT INTO memory_observations (memory_session_id, project, type, prompt_number, created_at, created_at_epoch) VALUES ('m', 'p', 't', 7, '2026-01-02', 1)`)
	cases := []struct {
		name, src, table, column string
		change                   func(v any) any
		owner                    bool
	}{
		{"our sessions: text with U+FFFD", ours, "sessions", "title", func(v any) any {
			if s, ok := v.(string); ok {
				return s + "\uFFFD"
			}
			return v
		}, false},
		{"our sessions: one JSON key for two", ours, "sessions", "meta", func(v any) any {
			if v != nil {
				return []byte(`{"collapsed": true}`)
			}
			return v
		}, false},
		{"upstream session: 'yes' read as true in meta", upstream, "sessions", "meta.upstream.initiated_by_ai", func(v any) any { return false }, true},
		{"upstream session: JSON in meta", upstream, "sessions", "meta.upstream.adapter_metadata", func(v any) any { return map[string]any{"a": 1} }, true},
		{"upstream session: text in meta", upstream, "sessions", "meta.upstream.computer_name", func(v any) any { return "b\uFFFDx" }, true},
		{"upstream table: text", upstream, "system_settings", "value", func(v any) any { return "v\uFFFD" }, true},
		{"upstream table: integer", upstream, "memory_observations", "prompt_number", func(v any) any { return int64(8) }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := migrateT(t, tc.src, pgtest.DSN(t), func(o *Options) {
				o.Owner = &Owner{Person: "mig", UID: 4242}
			}); err != nil {
				t.Fatalf("without the broken converter: %v", err)
			}
			dsn2 := pgtest.DSN(t)
			mangled := 0
			_, err := migrateT(t, tc.src, dsn2, func(o *Options) {
				o.Owner = &Owner{Person: "mig", UID: 4242}
				o.mangle = func(table, column string, v any) any {
					if table != tc.table || column != tc.column {
						return v
					}
					if w := tc.change(v); w != nil {
						mangled++
						if b, ok := w.([]byte); ok {
							return json.RawMessage(b)
						}
						return w
					}
					return v
				}
			})
			if mangled == 0 {
				t.Fatal("the hook changed nothing: the test does not test")
			}
			if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), tc.table) {
				t.Fatalf("migrate with a value changed unreported = %v; want a verification failure naming %s", err, tc.table)
			}
			assertEmpty(t, dsn2)
		})
	}
}

// TestSourceChangedDuringCopy: a source file written by another process
// while its rows are read (here: a byte appended once the first row is
// read) fails the migration with ErrSourceChanged, and nothing is
// committed.
func TestSourceChangedDuringCopy(t *testing.T) {
	src, dsn := newPair(t, genOpts{transcripts: 10})
	once := false
	_, err := migrateT(t, src, dsn, func(o *Options) {
		o.Owner = &Owner{Person: "mig", UID: 4242}
		o.afterRows = func(table string, n int64) {
			if once {
				return
			}
			once = true
			f, err := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Error(err)
				return
			}
			f.Write([]byte{0})
			f.Close()
		}
	})
	if !errors.Is(err, ErrSourceChanged) {
		t.Fatalf("migrate with the source written during the copy = %v; want ErrSourceChanged", err)
	}
	assertEmpty(t, dsn)
}
