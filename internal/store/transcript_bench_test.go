package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/instruktai/teleclaude/internal/cputime"
	"github.com/instruktai/teleclaude/internal/pgtest"
)

// BenchmarkAppendOutput records 20 MiB of base64 text (the recording
// bench's flood) as the recorder does: reads of 300 kB (what a 20 ms poll
// finds while tmux prints a flood) or 4 MiB (a backlog), each split into
// entries of at most 64 kB and appended in one transaction, under the
// daemon's default quota. PostgreSQL
// runs when TELECLAUDE_TEST_PG_DSN names a server (make bench).
//
// Besides the time, it reports the CPU this process used (cpu-ms/op: the
// daemon's share of recording) and, where the server runs on this machine
// and its processes can be read, the CPU of all processes named postgres
// (server-cpu-ms/op). On a machine of two cores, both are taken from tmux
// while a session floods, so the recording row of the bench follows them
// more than the time here.
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
				self0, server0 := cpuTicks()
				defer func() {
					self1, server1 := cpuTicks()
					b.ReportMetric(float64(self1-self0)/float64(b.N), "cpu-ms/op")
					if engine == PostgreSQL && server0 >= 0 {
						b.ReportMetric(float64(server1-server0)/float64(b.N), "server-cpu-ms/op")
					}
				}()
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

// cpuTicks is the CPU time this process has used, and that of every
// process named postgres (-1 when none can be read), in milliseconds.
func cpuTicks() (self, server int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		self = (ru.Utime.Nano() + ru.Stime.Nano()) / 1e6
	}
	server = -1
	for _, d := range cputime.Named("postgres") {
		server = max(server, 0) + d.Milliseconds()
	}
	return self, server
}
