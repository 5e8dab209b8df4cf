package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
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
