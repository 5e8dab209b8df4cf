package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/instruktai/teleclaude/internal/pgtest"
)

// wantUnavailable checks that err is an Unavailable error whose message
// says want, and names no file.
func wantUnavailable(t *testing.T, what string, err error, want, path string) {
	t.Helper()
	if k, _ := errdefs.KindOf(err); k != errdefs.Unavailable || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: %v (kind %v), want Unavailable saying %q", what, err, k, want)
		return
	}
	if path != "" && strings.Contains(err.Error(), path) {
		t.Errorf("%s: the message names the file: %v", what, err)
	}
}

// TestInfrastructureFailuresUnavailable: a database that cannot serve (its
// disk full, locked by another program, damaged, its server down) gives
// Unavailable errors with the cause and the fix, not bare driver errors
// the API would answer as 500.
func TestInfrastructureFailuresUnavailable(t *testing.T) {
	ctx := context.Background()
	uid := int64(1000)
	t.Run("disk full", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mounting a small file system needs root")
		}
		dir := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
		path := filepath.Join(dir, "t.db")
		s := open(t, Config{Engine: SQLite, Path: path})
		if err := s.CreateSession(ctx, &Session{ID: "a", OwnerUID: &uid, Status: "running"}); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Create(filepath.Join(dir, "fill"))
		for _, err := f.Write(make([]byte, 4096)); err == nil; _, err = f.Write(make([]byte, 4096)) {
		}
		f.Close()
		_, err := s.AppendTranscript(ctx, "a", TranscriptEntry{Direction: "in", Content: strings.Repeat("x", 60<<10)})
		wantUnavailable(t, "append on a full disk", err, "disk is full", path)
	})
	t.Run("locked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "t.db")
		s := open(t, Config{Engine: SQLite, Path: path})
		// Another program holds the write lock.
		other, err := Open(ctx, Config{Engine: SQLite, Path: path}, WithoutLock())
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		tx, err := other.DB().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		err = s.CreateSession(cctx, &Session{ID: "a", OwnerUID: &uid, Status: "running"})
		wantUnavailable(t, "write while another program holds the lock", err, "locked by another program", path)
	})
	t.Run("damaged", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "t.db")
		s := open(t, Config{Engine: SQLite, Path: path})
		for i := range 200 {
			if err := s.CreateSession(ctx, &Session{ID: strings.Repeat("s", 1+i%50) + string(rune('a'+i%26)) + string(rune('a'+i/26)), OwnerUID: &uid, Status: "running", Title: strings.Repeat("t", 150)}); err != nil {
				t.Fatal(err)
			}
		}
		// Damage every page but the first under the open store, as a
		// failing disk would, and make it read them again.
		s.DB().SetMaxIdleConns(0)
		if _, err := s.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		f.WriteAt([]byte(strings.Repeat("\x5a", int(st.Size())-4096)), 4096)
		f.Close()
		_, err = s.ListSessions(ctx, SessionFilter{})
		wantUnavailable(t, "list on a damaged database", err, "damaged", path)
	})
	t.Run("server down", func(t *testing.T) {
		c := pgtest.StartCluster(t)
		s := open(t, Config{Engine: PostgreSQL, DSN: c.DSN()}, WithLockCheck(0))
		c.Stop()
		_, err := s.GetSession(ctx, "x")
		wantUnavailable(t, "read with the server down", err, "does not answer", "")
		err = s.CreateSession(ctx, &Session{ID: "a", OwnerUID: &uid, Status: "running"})
		if k, _ := errdefs.KindOf(err); k != errdefs.Unavailable {
			t.Errorf("write with the server down: %v, want Unavailable", err)
		}
	})
}
