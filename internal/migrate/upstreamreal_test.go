package migrate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/pgtest"
)

// TestUpstreamRealSchemas: databases made from upstream's own schema at
// three points of its history (FTS5 tables and triggers, WAL, rows still
// in the -wal) are read; the FTS5 tables and their shadow tables are
// skipped and listed; the source's directory is byte for byte as before,
// without a lock file; the digest printed is the file's own sha256sum.
func TestUpstreamRealSchemas(t *testing.T) {
	for _, sc := range upstreamSchemas {
		for _, leaveWAL := range []bool{false, true} {
			name := sc.name
			if leaveWAL {
				name += "/rows-in-wal"
			}
			t.Run(name, func(t *testing.T) {
				src, counts := makeUpstreamReal(t, sc.file, 6, leaveWAL)
				dir := filepath.Dir(src)
				before := dirState(t, dir)
				if leaveWAL && !strings.Contains(before, "teleclaude.db-wal") {
					t.Fatal("fixture without a -wal")
				}
				dsn := pgtest.DSN(t)
				rep, err := migrateT(t, src, dsn)
				if err != nil {
					t.Fatalf("migrate: %v", err)
				}
				if after := dirState(t, dir); after != before {
					t.Errorf("source directory changed:\n%s\nbefore:\n%s", after, before)
				}
				if m, _ := filepath.Glob(src + ".lock"); len(m) > 0 {
					t.Errorf("lock file left beside the source: %v", m)
				}
				if rep.SourceSHA256 != fileSum(t, src) {
					t.Errorf("printed SHA-256 %s; sha256sum says %s", rep.SourceSHA256, fileSum(t, src))
				}
				var skipped []string
				for _, s := range rep.Skipped {
					skipped = append(skipped, s.Table)
				}
				var want []string
				if sc.fts {
					want = []string{"memory_observations_fts", "memory_observations_fts_config", "memory_observations_fts_data",
						"memory_observations_fts_docsize", "memory_observations_fts_idx"}
				}
				if sc.name == "head-451f0fb" {
					want = append(want, "mirrors_fts", "mirrors_fts_config", "mirrors_fts_data", "mirrors_fts_docsize", "mirrors_fts_idx")
				}
				slices.Sort(skipped)
				slices.Sort(want)
				if !slices.Equal(skipped, want) {
					t.Errorf("skipped %v; want %v", skipped, want)
				}
				var out strings.Builder
				rep.Print(&out)
				if sc.fts && !strings.Contains(out.String(), "memory_observations_fts_data") {
					t.Errorf("report does not list the skipped tables:\n%s", out.String())
				}
				if counts["sessions"] == 0 {
					t.Fatal("no sessions in the fixture")
				}
				_ = os.Getenv
			})
		}
	}
}
