package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/instruktai/teleclaude/internal/errdefs"
)

func TestTranscript(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		for _, id := range []string{"s1", "s2"} {
			if err := s.CreateSession(ctx, &Session{ID: id, Project: "p", Agent: "a", Status: "running"}); err != nil {
				t.Fatal(err)
			}
		}
		huge := strings.Repeat("é", 1<<19) // 1 MiB of UTF-8
		batches := [][]TranscriptEntry{
			{{Direction: "in", Content: "ls\n"}, {Direction: "out", Content: "a b\n"}},
			{{Direction: "out", Content: "日本語 🚀 ∑ \t tabs\r\n"}},
			{{Direction: "out", Content: huge}},
			{{Direction: "out", Content: ""}},
		}
		var want []TranscriptEntry
		for _, b := range batches {
			got, err := s.AppendTranscript(ctx, "s1", b...)
			if err != nil {
				t.Fatalf("AppendTranscript: %v", err)
			}
			for i, e := range got {
				if wantSeq := int64(len(want) + 1); e.Seq != wantSeq || e.Content != b[i].Content || e.At.IsZero() {
					t.Errorf("appended entry: seq %d, %d bytes, at %v; want seq %d, %d bytes, a time", e.Seq, len(e.Content), e.At, wantSeq, len(b[i].Content))
				}
				want = append(want, e)
			}
		}
		// Another session's numbering is its own.
		if got, err := s.AppendTranscript(ctx, "s2", TranscriptEntry{Direction: "in", Content: "x"}); err != nil || got[0].Seq != 1 {
			t.Errorf("first entry of s2: %+v, %v; want seq 1", got, err)
		}

		reads := []struct {
			after int64
			limit int
			want  []TranscriptEntry
		}{
			{0, 0, want},
			{0, -1, want},
			{1, 1, want[1:2]},
			{2, 0, want[2:]},
			{3, 2, want[3:5]},
			{int64(len(want)), 0, nil},
			{99, 10, nil},
		}
		for _, tt := range reads {
			t.Run(fmt.Sprintf("after %d limit %d", tt.after, tt.limit), func(t *testing.T) {
				got, err := s.Transcript(ctx, "s1", tt.after, tt.limit)
				if err != nil || got == nil || !sameEntries(got, tt.want) {
					t.Errorf("Transcript = %s, %v; want %s", seqs(got), err, seqs(tt.want))
				}
			})
		}
		if got, err := s.Transcript(ctx, "ghost", 0, 0); err != nil || len(got) != 0 {
			t.Errorf("Transcript(ghost) = %v, %v; want none", got, err)
		}
		if got, err := s.AppendTranscript(ctx, "s1"); err != nil || got != nil {
			t.Errorf("AppendTranscript of nothing = %v, %v; want nil, nil", got, err)
		}
	})
}

func TestTranscriptRefused(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		s.CreateSession(ctx, &Session{ID: "s1", Project: "p", Agent: "a", Status: "running"})
		s.AppendTranscript(ctx, "s1", TranscriptEntry{Direction: "in", Content: "kept"})
		tests := []struct {
			name    string
			session string
			entries []TranscriptEntry
			want    string
			is      error
		}{
			{"bad direction", "s1", []TranscriptEntry{{Direction: "in", Content: "a"}, {Direction: "sideways"}}, `direction "sideways"`, nil},
			{"unknown session", "ghost", []TranscriptEntry{{Direction: "in", Content: "x"}}, "ghost", ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.AppendTranscript(ctx, tt.session, tt.entries...)
				if err == nil || !strings.Contains(err.Error(), tt.want) || tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("err = %v, want it to contain %q (and match %v)", err, tt.want, tt.is)
				}
			})
		}
		// The database refuses a bad direction too, whoever writes.
		if _, err := s.DB().Exec(s.q(`INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES (?, 9, 'up', '', '2026-01-01T00:00:00.000000Z')`), "s1"); err == nil {
			t.Error("the database accepted direction 'up'")
		}
		// Nothing of a refused batch was written.
		if got, _ := s.Transcript(ctx, "s1", 0, 0); len(got) != 1 || got[0].Content != "kept" {
			t.Errorf("after refused appends: %s, want only seq 1", seqs(got))
		}
	})
}

// TestTranscriptStorable: bytes PostgreSQL's text cannot hold are replaced,
// the same way on both engines, instead of failing the batch on one.
func TestTranscriptStorable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"nul\x00byte", "nul\uFFFDbyte"},
		{"bad \xff\xfe utf-8", "bad \uFFFD utf-8"},
		{"cut é: \xc3", "cut é: \uFFFD"},
	}
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		s.CreateSession(ctx, &Session{ID: "s1", Project: "p", Agent: "a", Status: "running"})
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
				got, err := s.AppendTranscript(ctx, "s1", TranscriptEntry{Direction: "out", Content: tt.in})
				if err != nil || got[0].Content != tt.want {
					t.Fatalf("AppendTranscript = %+v, %v; want content %q", got, err, tt.want)
				}
				read, _ := s.Transcript(ctx, "s1", got[0].Seq-1, 1)
				if len(read) != 1 || read[0].Content != tt.want {
					t.Errorf("read back: %+v, want content %q", read, tt.want)
				}
			})
		}
	})
}

// TestConcurrentAppends: the daemon appends a session's output and its
// input from different goroutines; no append may fail or share a seq.
func TestConcurrentAppends(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		for _, id := range []string{"a", "b"} {
			s.CreateSession(ctx, &Session{ID: id, Project: "p", Agent: "a", Status: "running"})
		}
		const writers, batches = 8, 15
		var wg sync.WaitGroup
		errs := make(chan error, writers*batches*2)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				session := []string{"a", "b"}[w%2]
				for i := range batches {
					// Two entries per batch: one transaction, so adjacent seqs.
					got, err := s.AppendTranscript(ctx, session,
						TranscriptEntry{Direction: "in", Content: fmt.Sprintf("w%d/%d", w, i)},
						TranscriptEntry{Direction: "out", Content: fmt.Sprintf("w%d/%d", w, i)})
					if err != nil {
						errs <- err
						return
					}
					if got[1].Seq != got[0].Seq+1 {
						errs <- fmt.Errorf("one batch got seqs %d and %d", got[0].Seq, got[1].Seq)
					}
					if _, err := s.AppendAudit(ctx, AuditRecord{ActorUID: int64(w), ActorPID: 1, Action: "concurrent", TargetSessionID: &session}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, id := range []string{"a", "b"} {
			got, err := s.Transcript(ctx, id, 0, 0)
			if want := writers / 2 * batches * 2; err != nil || len(got) != want {
				t.Fatalf("session %s: %d entries, %v; want %d", id, len(got), err, want)
			}
			for i, e := range got {
				if e.Seq != int64(i+1) {
					t.Fatalf("session %s: entry %d has seq %d, want %d (no gaps)", id, i, e.Seq, i+1)
				}
				if i%2 == 1 && e.Content != got[i-1].Content {
					t.Errorf("session %s: seqs %d and %d are from different batches (%q, %q)", id, i, i+1, got[i-1].Content, e.Content)
				}
			}
		}
		if recs, _ := s.ListAudit(ctx, AuditFilter{}); len(recs) != writers*batches {
			t.Errorf("%d audit records, want %d", len(recs), writers*batches)
		}
	})
}

func sameEntries(a, b []TranscriptEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func seqs(es []TranscriptEntry) string {
	var s []string
	for _, e := range es {
		s = append(s, fmt.Sprint(e.Seq))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// TestAppendOutput: entries and the log offset move together; an append
// with no entries still records how far the log was read.
func TestAppendOutput(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		if err := s.CreateSession(ctx, &Session{ID: "o1", Project: "p", Agent: "a", Status: "running"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendOutput(ctx, "o1", 12, TranscriptEntry{Direction: "out", Content: "hello world\n"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendOutput(ctx, "o1", 20); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetSession(ctx, "o1")
		entries, _ := s.Transcript(ctx, "o1", 0, 0)
		if got.OutputOffset != 20 || len(entries) != 1 || entries[0].Content != "hello world\n" {
			t.Errorf("offset %d, entries %+v; want 20 and the one entry", got.OutputOffset, entries)
		}
		// A failed append (bad direction) moves neither.
		if _, err := s.AppendOutput(ctx, "o1", 99, TranscriptEntry{Direction: "sideways", Content: "x"}); err == nil {
			t.Error("AppendOutput accepted a bad direction")
		}
		if got, _ := s.GetSession(ctx, "o1"); got.OutputOffset != 20 {
			t.Errorf("offset after a failed append = %d, want 20", got.OutputOffset)
		}
		if _, err := s.AppendOutput(ctx, "nope", 1); !errors.Is(err, ErrNotFound) || !isKind(err, errdefs.NotFound) {
			t.Errorf("AppendOutput(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestDeleteSession(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		s.CreateSession(ctx, &Session{ID: "d1", Project: "p", Agent: "a", Status: "starting"})
		s.AppendTranscript(ctx, "d1", TranscriptEntry{Direction: "out", Content: "x"})
		if err := s.DeleteSession(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, "d1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetSession after delete = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, "d1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete = %v, want ErrNotFound", err)
		}
	})
}

// TestAppendSplitsStatements: an append bigger than one INSERT carries (by
// rows and by bytes) arrives whole and in order.
func TestAppendSplitsStatements(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		mkSession(t, s, "big", "alice", 1001)
		var es []TranscriptEntry
		for i := range insertRows + 20 {
			es = append(es, TranscriptEntry{Direction: "out", Content: fmt.Sprintf("line %d\n", i)})
		}
		for i := range 3 {
			es = append(es, TranscriptEntry{Direction: "out", Content: strings.Repeat(string(rune('a'+i)), insertBytes*2/3)})
		}
		es = append(es, TranscriptEntry{Direction: "in", Content: "after"})
		if _, err := s.AppendOutput(ctx, "big", 99, es...); err != nil {
			t.Fatal(err)
		}
		got, err := s.Transcript(ctx, "big", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(es) {
			t.Fatalf("%d entries stored; want %d", len(got), len(es))
		}
		for i, e := range got {
			if e.Seq != int64(i+1) || e.Content != es[i].Content || e.Direction != es[i].Direction {
				t.Fatalf("entry %d: seq %d, %s, %d bytes; want seq %d, %s, %d bytes", i, e.Seq, e.Direction, len(e.Content), i+1, es[i].Direction, len(es[i].Content))
			}
		}
		if used, _, err := s.TranscriptUsage(ctx, "alice"); err != nil || used != int64(totalBytes(es)) {
			t.Errorf("usage %d, %v; want %d", used, err, totalBytes(es))
		}
	})
}

// TestFailedInsertKeepsNothing: when the database refuses an entry in the
// middle of an append (here a trigger; in life a full disk or a lost
// server), nothing of the append is kept: no entry, no usage, and the
// output offset where it was, so the recorder reads the same output again.
// The connection serves the next append.
func TestFailedInsertKeepsNothing(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		mkSession(t, s, "s", "alice", 1001)
		if _, err := s.AppendOutput(ctx, "s", 10, TranscriptEntry{Direction: "out", Content: "first\n"}); err != nil {
			t.Fatal(err)
		}
		trigger := []string{`CREATE TRIGGER refuse BEFORE INSERT ON transcript_entries
			WHEN NEW.content = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`}
		if cfg.Engine == PostgreSQL {
			trigger = []string{`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF NEW.content = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`,
				`CREATE TRIGGER refuse BEFORE INSERT ON transcript_entries FOR EACH ROW EXECUTE FUNCTION refuse()`}
		}
		for _, q := range trigger {
			if _, err := s.DB().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.AppendOutput(ctx, "s", 500,
			TranscriptEntry{Direction: "out", Content: strings.Repeat("x", 300<<10)},
			TranscriptEntry{Direction: "out", Content: "refused"},
			TranscriptEntry{Direction: "out", Content: "after"})
		if err == nil || !strings.Contains(err.Error(), "refused by the test") {
			t.Fatalf("append: %v; want the trigger's refusal", err)
		}
		// The database answered: that is not a database out of reach.
		if k, ok := errdefs.KindOf(err); ok && k == errdefs.Unavailable {
			t.Errorf("a refused insert is classed unavailable: %v", err)
		}
		got, err := s.Transcript(ctx, "s", 0, 0)
		if err != nil || len(got) != 1 || got[0].Content != "first\n" {
			t.Fatalf("transcript after the refusal: %d entries, %v; want only the first", len(got), err)
		}
		sess, err := s.GetSession(ctx, "s")
		if err != nil || sess.OutputOffset != 10 {
			t.Fatalf("offset %d, %v; want 10", sess.OutputOffset, err)
		}
		if used, _, err := s.TranscriptUsage(ctx, "alice"); err != nil || used != int64(len("first\n")) {
			t.Errorf("usage %d, %v; want %d", used, err, len("first\n"))
		}
		// The next appends go through, on whichever pooled connection.
		for range 3 {
			if _, err := s.AppendOutput(ctx, "s", 600, TranscriptEntry{Direction: "out", Content: "next\n"}); err != nil {
				t.Fatalf("append after the refusal: %v", err)
			}
		}
	})
}

func totalBytes(es []TranscriptEntry) (n int) {
	for _, e := range es {
		n += len(e.Content)
	}
	return n
}
