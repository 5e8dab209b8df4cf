package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/errdefs"
)

// TestConcurrentStarts does what fifty session starts at once do to the
// database (count the owner's running sessions, insert, mark running,
// read back) while the recorder appends output: on both engines every one
// of them must get through, none with "database is locked".
func TestConcurrentStarts(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		ctx := context.Background()
		uid := int64(1000)
		// A session being recorded all along.
		// Chatty sessions: each append is a 256 KiB transaction.
		chunk := strings.Repeat("output line\n", 256<<10/12)
		const recorders = 20
		stop := make(chan struct{})
		recDone := make(chan error, recorders)
		for r := range recorders {
			rec := &Session{ID: fmt.Sprintf("rec%d", r), OwnerUID: &uid, Status: "running"}
			if err := s.CreateSession(ctx, rec); err != nil {
				t.Fatal(err)
			}
			go func() {
				for off := int64(1); ; off++ {
					select {
					case <-stop:
						recDone <- nil
						return
					default:
					}
					if _, err := s.AppendOutput(ctx, rec.ID, off, TranscriptEntry{Direction: "out", Content: chunk}); err != nil {
						recDone <- err
						return
					}
				}
			}()
		}
		const n = 50
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- func() error {
					if _, err := s.ListSessions(ctx, SessionFilter{OwnerUID: &uid, Status: []string{"starting", "running"}}); err != nil {
						return err
					}
					ss := &Session{ID: fmt.Sprintf("s%02d", i), OwnerUID: &uid, Status: "starting"}
					if err := s.CreateSession(ctx, ss); err != nil {
						return err
					}
					if err := s.TransitionSession(ctx, ss.ID, []string{"starting"}, "running", nil, nil); err != nil {
						return err
					}
					if _, err := s.AppendTranscript(ctx, ss.ID, TranscriptEntry{Direction: "in", Content: "hi"}); err != nil {
						return err
					}
					_, err := s.GetSession(ctx, ss.ID)
					return err
				}()
			}()
		}
		wg.Wait()
		close(stop)
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("%v (cause: %v)", err, errors.Unwrap(err))
			}
		}
		for range recorders {
			if err := <-recDone; err != nil {
				t.Errorf("recorder: %v", err)
			}
		}
	})
}

// TestWriteWaitCutShort: a write waiting for another write of this
// daemon (a recorder's append holding the lock) waits its turn as long as
// its caller lets it, and when the caller's context ends first it says so
// (503, the context's error in the chain). Before, the wait was SQLite's
// busy handler, which the driver stops as soon as the context ends, so
// concurrent starts whose clients gave up failed with a bare 500
// "sqlite3: database is locked", busy_timeout or not.
func TestWriteWaitCutShort(t *testing.T) {
	s := open(t, Config{Engine: SQLite, Path: filepath.Join(t.TempDir(), "t.db")})
	ctx := context.Background()
	uid := int64(1000)
	// A write of this daemon holding the lock for d, as appendTranscript
	// takes it.
	hold := func(d time.Duration) {
		t.Helper()
		release, err := s.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := s.DB().BeginTx(ctx, nil) // BEGIN IMMEDIATE
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(d, func() { tx.Rollback(); release() })
	}
	hold(time.Second)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := s.CreateSession(short, &Session{ID: "cut", OwnerUID: &uid, Status: "starting"})
	if kind, _ := errdefs.KindOf(err); !errors.Is(err, context.DeadlineExceeded) || kind != errdefs.Unavailable || strings.Contains(err.Error(), "database is locked") {
		t.Errorf("a write whose wait its context cut short: %v; want Unavailable with the context's error, not \"database is locked\"", err)
	}
	time.Sleep(time.Second)
	// A write with time to wait gets its turn.
	hold(500 * time.Millisecond)
	if err := s.CreateSession(ctx, &Session{ID: "waits", OwnerUID: &uid, Status: "starting"}); err != nil {
		t.Errorf("a write that may wait, the lock held for 0.5s: %v", err)
	}
}
