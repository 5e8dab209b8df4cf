package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/instruktai/teleclaude/internal/errdefs"
)

func mkSession(t *testing.T, s *Store, id, person string, uid int64) {
	t.Helper()
	if err := s.CreateSession(context.Background(), &Session{ID: id, OwnerPerson: &person, OwnerUID: &uid, Project: "p", Agent: "a", Status: "running"}); err != nil {
		t.Fatal(err)
	}
}

func quotaOf(t *testing.T, err error) *QuotaError {
	t.Helper()
	var qe *QuotaError
	if k, _ := errdefs.KindOf(err); k != errdefs.Quota || !errors.As(err, &qe) {
		t.Fatalf("err = %v; want a Quota error wrapping a *QuotaError", err)
	}
	return qe
}

func textOf(t *testing.T, s *Store, id string) (out string, n int) {
	t.Helper()
	es, err := s.Transcript(context.Background(), id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		out += e.Content
	}
	return out, len(es)
}

// TestTranscriptQuota: a person's transcripts together hold at most the
// quota. Input past it is refused with words; output is kept up to it and
// the transcript says, once, that the rest is not kept; the offset still
// moves on. Another person is not counted.
func TestTranscriptQuota(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		s.SetQuotas(Quotas{TranscriptBytes: 100})
		mkSession(t, s, "a1", "alice", 1001)
		mkSession(t, s, "a2", "alice", 1001)
		mkSession(t, s, "b1", "bob", 1002)

		if _, err := s.AppendTranscript(ctx, "a1", TranscriptEntry{Direction: "in", Content: strings.Repeat("x", 60)}); err != nil {
			t.Fatal(err)
		}
		_, err := s.AppendTranscript(ctx, "a2", TranscriptEntry{Direction: "in", Content: strings.Repeat("y", 50)})
		if qe := quotaOf(t, err); qe.Used != 60 || qe.Adding != 50 || qe.Max != 100 || qe.Person != "alice" {
			t.Errorf("QuotaError = %+v; want alice, 60 used, 50 more, 100", qe)
		}
		if !strings.Contains(err.Error(), "sessions.person_transcript_max_bytes") {
			t.Errorf("refusal %q does not name the setting", err)
		}
		if _, n := textOf(t, s, "a2"); n != 0 {
			t.Errorf("a refused input left %d entries", n)
		}

		// "é" straddles the cut: the kept text ends before it.
		out := strings.Repeat("z", 39) + "é" + strings.Repeat("z", 10)
		if _, err := s.AppendOutput(ctx, "a2", 50, TranscriptEntry{Direction: "out", Content: out}); err != nil {
			t.Fatalf("output past the quota: %v; want it cut, not refused", err)
		}
		got, _ := textOf(t, s, "a2")
		if !strings.HasPrefix(got, strings.Repeat("z", 39)+"\n[teleclaude: alice's transcripts reached") {
			t.Errorf("a2's transcript %q; want 39 bytes kept and the note", got)
		}
		if _, err := s.AppendOutput(ctx, "a2", 80, TranscriptEntry{Direction: "out", Content: "more"}); err != nil {
			t.Fatal(err)
		}
		if again, _ := textOf(t, s, "a2"); again != got {
			t.Errorf("after the note, the transcript grew to %q; want nothing more (one note)", again)
		}
		if ss, _ := s.GetSession(ctx, "a2"); ss.OutputOffset != 80 {
			t.Errorf("offset %d; want 80: output past the quota is read past, not read again", ss.OutputOffset)
		}
		if _, err := s.AppendOutput(ctx, "b1", 90, TranscriptEntry{Direction: "out", Content: strings.Repeat("b", 90)}); err != nil {
			t.Errorf("bob's output: %v; alice's quota is not his", err)
		}
		used, max, err := s.TranscriptUsage(ctx, "alice")
		if err != nil || used < 100 || max != 100 {
			t.Errorf("TranscriptUsage(alice) = %d, %d, %v; want at least 100 of 100", used, max, err)
		}
		// A session that never started goes with its usage.
		if err := s.DeleteSession(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if used2, _, _ := s.TranscriptUsage(ctx, "alice"); used2 != used-60 {
			t.Errorf("after deleting a1, alice uses %d; want %d", used2, used-60)
		}
	})
}

// TestTranscriptQuotaRace: ten sessions of one person append output at
// once against a quota of 100 bytes: together they keep 100, not more.
func TestTranscriptQuotaRace(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		s.SetQuotas(Quotas{TranscriptBytes: 100})
		for i := range 10 {
			mkSession(t, s, fmt.Sprintf("c%d", i), "carol", 1003)
		}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.AppendOutput(ctx, fmt.Sprintf("c%d", i), 30, TranscriptEntry{Direction: "out", Content: strings.Repeat("c", 30)}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		kept, notes := 0, 0
		for i := range 10 {
			es, err := s.Transcript(ctx, fmt.Sprintf("c%d", i), 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if strings.HasPrefix(e.Content, "\n[teleclaude:") {
					notes++
					continue
				}
				kept += len(e.Content)
			}
		}
		if notes != 7 {
			t.Errorf("%d sessions say the quota stopped them; want 7 (3 kept all 30 bytes, one 10, and 6 none)", notes)
		}
		if kept != 100 {
			t.Errorf("ten concurrent appends of 30 bytes against 100: %d bytes kept; want 100", kept)
		}
	})
}

// TestDocQuota: a person's docs are bounded in count and bytes; replacing
// one's own doc counts only its new size; a doc someone else rewrites
// counts against them from then on.
func TestDocQuota(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		s.SetQuotas(Quotas{DocBytes: 100, DocCount: 2})
		if err := s.ClaimDoc(ctx, "alice", "a", 60); err != nil {
			t.Fatal(err)
		}
		err := s.ClaimDoc(ctx, "alice", "b", 50)
		if qe := quotaOf(t, err); qe.What != "doc bytes" || qe.Used != 60 {
			t.Errorf("QuotaError %+v; want doc bytes, 60 used", qe)
		}
		if !strings.Contains(err.Error(), "docs.person_max_bytes") {
			t.Errorf("refusal %q does not name the setting", err)
		}
		if err := s.ClaimDoc(ctx, "alice", "b", 40); err != nil {
			t.Fatal(err)
		}
		err = s.ClaimDoc(ctx, "alice", "c", 1)
		if qe := quotaOf(t, err); qe.What != "docs" || qe.Used != 2 || qe.Max != 2 {
			t.Errorf("QuotaError %+v; want docs, 2 of 2", qe)
		}
		if !strings.Contains(err.Error(), "docs.person_max_count") {
			t.Errorf("refusal %q does not name the setting", err)
		}
		if err := s.ClaimDoc(ctx, "alice", "a", 60); err != nil {
			t.Errorf("alice rewriting her own doc at the same size: %v", err)
		}
		if err := s.ClaimDoc(ctx, "bob", "a", 5); err != nil {
			t.Fatal(err)
		}
		if n, b, err := s.DocUsage(ctx, "alice"); err != nil || n != 1 || b != 40 {
			t.Errorf("DocUsage(alice) = %d, %d, %v; want 1 doc of 40 bytes once bob rewrote a", n, b, err)
		}
		if err := s.ClaimDoc(ctx, "alice", "c", 60); err != nil {
			t.Errorf("alice, with room again: %v", err)
		}
	})
}

// TestSessionAccount: a session keeps the account and home its owner had
// at start; a list for an account shows its sessions and those from
// before accounts were kept, never another account's.
func TestSessionAccount(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		uid := int64(1001)
		for _, sess := range []*Session{
			{ID: "rita1", OwnerPerson: ptr("p"), OwnerUID: &uid, OwnerAccount: ptr("rita"), OwnerHome: ptr("/home/rita"), Project: "x", Agent: "a", Status: "running"},
			{ID: "rex1", OwnerPerson: ptr("p"), OwnerUID: &uid, OwnerAccount: ptr("rex"), OwnerHome: ptr("/home/rex"), Project: "x", Agent: "a", Status: "running"},
			{ID: "old1", OwnerPerson: ptr("p"), OwnerUID: &uid, Project: "x", Agent: "a", Status: "exited"},
		} {
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetSession(ctx, "rita1")
		if err != nil || got.OwnerAccount == nil || *got.OwnerAccount != "rita" || got.OwnerHome == nil || *got.OwnerHome != "/home/rita" {
			t.Fatalf("GetSession = %+v, %v; want account rita, home /home/rita", got, err)
		}
		if old, _ := s.GetSession(ctx, "old1"); old.OwnerAccount != nil {
			t.Errorf("a session without an account reads back with %q", *old.OwnerAccount)
		}
		ss, err := s.ListSessions(ctx, SessionFilter{OwnerUID: &uid, OwnerPerson: ptr("p"), OwnerAccount: ptr("rex")})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range ss {
			ids = append(ids, x.ID)
		}
		sort.Strings(ids)
		if strings.Join(ids, ",") != "old1,rex1" {
			t.Errorf("rex's list: %v; want old1 (from before accounts) and rex1", ids)
		}
		owners, err := s.Owners(ctx)
		if err != nil || len(owners) != 3 {
			t.Fatalf("Owners = %+v, %v; want three (rita's, rex's, the account-less)", owners, err)
		}
		if err := s.CreateSession(ctx, &Session{ID: "half", OwnerPerson: ptr("p"), OwnerUID: &uid, OwnerAccount: ptr("x"), Project: "x", Agent: "a", Status: "running"}); err == nil {
			t.Error("a session with an account and no home was created")
		}
		if _, err := s.GetSession(ctx, "half"); err == nil {
			t.Error("the refused session left a row")
		}
		if err := s.DeleteSession(ctx, "rita1"); err != nil {
			t.Errorf("deleting a session with an account: %v", err)
		}
	})
}

// TestUpgradeCountsTranscripts: the migration that brings quotas counts
// the transcripts already there, so that old sessions count too.
func TestUpgradeCountsTranscripts(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
		db, err := sql.Open("sqlite3", "file:"+cfg.Path)
		if cfg.Engine == PostgreSQL {
			dialect, dir = goose.DialectPostgres, "migrations/postgres"
			db, err = sql.Open("pgx", cfg.DSN)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		sub, _ := fs.Sub(migrations, dir)
		p, err := goose.NewProvider(dialect, db, sub, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 3); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"INSERT INTO sessions (id, owner_person, owner_uid, project, agent, status, created_at, updated_at) VALUES ('old', 'dana', 1004, 'p', 'a', 'exited', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES ('old', 1, 'out', 'héllo', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES ('old', 2, 'in', 'abc', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO sessions (id, owner_person, owner_uid, project, agent, status, created_at, updated_at) VALUES ('old2', 'dana', 1004, 'p', 'a', 'exited', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES ('old2', 1, 'out', 'four', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO sessions (id, owner_person, owner_uid, project, agent, status, created_at, updated_at) VALUES ('eve1', 'eve', 1005, 'p', 'a', 'exited', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES ('eve1', 1, 'out', 'eve', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO sessions (id, owner_uid, project, agent, status, created_at, updated_at) VALUES ('nobody', 1006, 'p', 'a', 'exited', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
			"INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES ('nobody', 1, 'out', 'x', '2025-01-01T00:00:00.000000Z')",
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		s := open(t, cfg)
		if used, _, err := s.TranscriptUsage(ctx, "dana"); err != nil || used != 13 {
			t.Errorf("TranscriptUsage after the upgrade = %d, %v; want 13 (héllo is 6 bytes, abc 3, four 4)", used, err)
		}
		if used, _, err := s.TranscriptUsage(ctx, "eve"); err != nil || used != 3 {
			t.Errorf("eve's TranscriptUsage after the upgrade = %d, %v; want 3", used, err)
		}
	})
}

// TestUsageFollowsAppendsAndDeletes: a person's total is the sum of their
// sessions' transcripts as appends add to it, and a deleted session (a
// start that failed) takes its bytes with it.
func TestUsageFollowsAppendsAndDeletes(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		mkSession(t, s, "a1", "alice", 1001)
		mkSession(t, s, "a2", "alice", 1001)
		mkSession(t, s, "b1", "bob", 1002)
		for id, text := range map[string]string{"a1": "hello", "a2": "wörld!", "b1": "bob's"} {
			if _, err := s.AppendOutput(ctx, id, 1, TranscriptEntry{Direction: "out", Content: text}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AppendTranscript(ctx, "a1", TranscriptEntry{Direction: "in", Content: "ls"}); err != nil {
			t.Fatal(err)
		}
		usage := func(person string) int64 {
			t.Helper()
			used, _, err := s.TranscriptUsage(ctx, person)
			if err != nil {
				t.Fatal(err)
			}
			return used
		}
		if a, b := usage("alice"), usage("bob"); a != 5+7+2 || b != 5 {
			t.Fatalf("usage alice %d, bob %d; want 14 and 5", a, b)
		}
		if err := s.DeleteSession(ctx, "a2"); err != nil {
			t.Fatal(err)
		}
		if a, b := usage("alice"), usage("bob"); a != 7 || b != 5 {
			t.Errorf("after deleting a2: usage alice %d, bob %d; want 7 and 5", a, b)
		}
		if n := usage("carol"); n != 0 {
			t.Errorf("usage of someone with no sessions = %d", n)
		}
	})
}
