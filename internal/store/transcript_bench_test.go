package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/instruktai/teleclaude/internal/pgtest"
)

// BenchmarkAppendOutput records 20 MiB of base64 text (the recording
// bench's flood) as the recorder does: reads of 300 kB (what a 20 ms poll
// finds while tmux prints a flood) or 4 MiB (a backlog), each split into
// entries of at most 64 kB and appended in one transaction, under the
// daemon's default quota. PostgreSQL
// runs when TELECLAUDE_TEST_PG_DSN names a server (make bench).
func BenchmarkAppendOutput(b *testing.B) {
	raw := make([]byte, 15<<20)
	rand.Read(raw)
	text := base64.StdEncoding.EncodeToString(raw)
	for _, engine := range []Engine{SQLite, PostgreSQL} {
		for _, read := range []int{300 << 10, 4 << 20} {
			b.Run(fmt.Sprintf("%s/read=%dkB", engine, read>>10), func(b *testing.B) {
				cfg := Config{Engine: SQLite, Path: filepath.Join(b.TempDir(), "b.db")}
				if engine == PostgreSQL {
					cfg = Config{Engine: PostgreSQL, DSN: pgtest.DSN(b)}
				}
				s, err := Open(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				s.SetQuotas(Quotas{TranscriptBytes: 1 << 30}) // the daemon's default
				b.SetBytes(int64(len(text)))
				for i := 0; b.Loop(); i++ {
					id := fmt.Sprintf("s%d", i)
					person, uid := fmt.Sprintf("p%d", i), int64(1001)
					if err := s.CreateSession(context.Background(), &Session{ID: id, OwnerPerson: &person, OwnerUID: &uid, Project: "p", Agent: "a", Status: "running"}); err != nil {
						b.Fatal(err)
					}
					for start := 0; start < len(text); start += read {
						chunk := text[start:min(len(text), start+read)]
						var es []TranscriptEntry
						for j := 0; j < len(chunk); j += 64 << 10 {
							es = append(es, TranscriptEntry{Direction: "out", Content: chunk[j:min(len(chunk), j+64<<10)]})
						}
						if _, err := s.AppendOutput(context.Background(), id, int64(start+len(chunk)), es...); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
