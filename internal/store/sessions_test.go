package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/errdefs"
)

func TestSessions(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600))
		mine := &Session{ID: "s1", OwnerPerson: ptr("alice"), OwnerUID: ptr(int64(1001)), Project: "demo", ProjectPath: "/srv/démo", Agent: "shell",
			Title: "naïve ✓", Status: "running", TmuxName: "tc-s1", OutputOffset: 1 << 40, CreatedAt: created, Meta: json.RawMessage(`{"k": [1, 2]}`)}
		theirs := &Session{ID: "s2", OwnerPerson: ptr("bob"), OwnerUID: ptr(int64(1002)), Project: "alpha", Agent: "claude", Status: "running"}
		legacy := &Session{ID: "s3", Project: "demo", Agent: "shell", Status: "exited", CreatedAt: created.Add(time.Hour)}
		for _, ss := range []*Session{mine, theirs, legacy} {
			if err := s.CreateSession(ctx, ss); err != nil {
				t.Fatalf("CreateSession(%s): %v", ss.ID, err)
			}
		}
		if err := s.CreateSession(ctx, &Session{ID: "s1", Project: "x", Agent: "y", Status: "z"}); err == nil {
			t.Error("CreateSession accepted a duplicate id")
		}
		if theirs.CreatedAt.IsZero() || !theirs.UpdatedAt.Equal(theirs.CreatedAt) {
			t.Errorf("zero times: CreatedAt %v, UpdatedAt %v; want now, twice", theirs.CreatedAt, theirs.UpdatedAt)
		}

		got, err := s.GetSession(ctx, "s1")
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		want := *mine
		want.CreatedAt = created.UTC().Truncate(time.Microsecond)
		want.UpdatedAt = want.CreatedAt
		if !sameSession(got, want) {
			t.Errorf("GetSession(s1) =\n %s\nwant\n %s", dump(got), dump(want))
		}
		if got.TmuxName != "tc-s1" {
			t.Errorf("TmuxName = %q, want tc-s1", got.TmuxName)
		}
		if got, _ := s.GetSession(ctx, "s3"); got.OwnerPerson != nil || got.OwnerUID != nil || got.Meta != nil {
			t.Errorf("unowned session: owner %v/%v, meta %s; want nil, nil, nil", got.OwnerPerson, got.OwnerUID, got.Meta)
		}
		if _, err := s.GetSession(ctx, "nope"); !errors.Is(err, ErrNotFound) || !isKind(err, errdefs.NotFound) {
			t.Errorf("GetSession(nope): err = %v, want ErrNotFound", err)
		}

		lists := []struct {
			name string
			f    SessionFilter
			want string
		}{
			{"all, by project then age", SessionFilter{}, "s2,s1,s3"},
			{"owner", SessionFilter{OwnerUID: ptr(int64(1001))}, "s1"},
			{"owned only", SessionFilter{OwnedOnly: true}, "s2,s1"},
			{"status", SessionFilter{Status: []string{"exited", "ended"}}, "s3"},
			{"owner and status", SessionFilter{OwnerUID: ptr(int64(1001)), Status: []string{"exited"}}, ""},
			{"limit", SessionFilter{Limit: 2}, "s2,s1"},
			{"nobody's", SessionFilter{OwnerUID: ptr(int64(7))}, ""},
		}
		for _, tt := range lists {
			t.Run("list "+tt.name, func(t *testing.T) {
				l, err := s.ListSessions(ctx, tt.f)
				if err != nil || l == nil || idsOf(l) != tt.want {
					t.Errorf("ListSessions = %q (nil: %v), %v; want %q, never nil", idsOf(l), l == nil, err, tt.want)
				}
			})
		}

		end := time.Now()
		if err := s.UpdateSessionStatus(ctx, "s1", "exited", ptr(3), &end); err != nil {
			t.Fatalf("UpdateSessionStatus: %v", err)
		}
		got, _ = s.GetSession(ctx, "s1")
		if got.Status != "exited" || got.ExitCode == nil || *got.ExitCode != 3 || got.EndedAt == nil || !got.EndedAt.Equal(end.UTC().Truncate(time.Microsecond)) {
			t.Errorf("after update: %s; want exited, exit code 3, ended %v", dump(got), end)
		}
		if !got.UpdatedAt.After(want.UpdatedAt) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("after update: created %v updated %v; want created unchanged, updated later", got.CreatedAt, got.UpdatedAt)
		}
		if err := s.UpdateSessionStatus(ctx, "nope", "x", nil, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateSessionStatus(nope): err = %v, want ErrNotFound", err)
		}
	})
}

func TestCreateSessionInvalid(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		tests := []struct {
			name string
			sess Session
			want string
		}{
			{"no id", Session{Project: "p", Agent: "a", Status: "running"}, "no id"},
			{"meta not JSON", Session{ID: "x", Project: "p", Agent: "a", Status: "running", Meta: json.RawMessage(`{oops`)}, "meta is not valid JSON"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := s.CreateSession(context.Background(), &tt.sess); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want it to contain %q", err, tt.want)
				}
			})
		}
	})
}

// TestTimeRoundTrip: what goes in comes back equal, in UTC, at microsecond
// precision, on both engines and in every table.
func TestTimeRoundTrip(t *testing.T) {
	times := []struct {
		name string
		at   time.Time
	}{
		{"whole second", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)},
		{"nanoseconds truncated", time.Date(2026, 3, 4, 5, 6, 7, 999_999_999, time.UTC)},
		{"other zone", time.Date(2026, 3, 4, 5, 6, 7, 123_456_000, time.FixedZone("NPT", 5*3600+45*60))},
		{"before 1970", time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, time.UTC)},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)},
		{"now, with a monotonic reading", time.Now()},
	}
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		for i, tt := range times {
			t.Run(tt.name, func(t *testing.T) {
				want := tt.at.UTC().Truncate(time.Microsecond)
				check := func(what string, got time.Time) {
					t.Helper()
					if got != want || got.Location() != time.UTC {
						t.Errorf("%s = %v (%s), want %v in UTC", what, got, got.Location(), want)
					}
				}
				id := "t" + string(rune('a'+i))
				sess := &Session{ID: id, Project: "p", Agent: "a", Status: "running", CreatedAt: tt.at, UpdatedAt: tt.at}
				if err := s.CreateSession(ctx, sess); err != nil {
					t.Fatal(err)
				}
				check("CreateSession's CreatedAt", sess.CreatedAt)
				if err := s.UpdateSessionStatus(ctx, id, "ended", nil, &tt.at); err != nil {
					t.Fatal(err)
				}
				got, err := s.GetSession(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				check("CreatedAt", got.CreatedAt)
				check("EndedAt", *got.EndedAt)
				appended, err := s.AppendTranscript(ctx, id, TranscriptEntry{Direction: "out", Content: "x", At: tt.at})
				if err != nil {
					t.Fatal(err)
				}
				check("AppendTranscript's At", appended[0].At)
				entries, _ := s.Transcript(ctx, id, 0, 0)
				check("transcript At", entries[0].At)
				rec, err := s.AppendAudit(ctx, AuditRecord{ActorUID: 1, ActorPID: 1, Action: "t", TargetSessionID: &id, At: tt.at})
				if err != nil {
					t.Fatal(err)
				}
				check("AppendAudit's At", rec.At)
				recs, _ := s.ListAudit(ctx, AuditFilter{SessionID: id})
				check("audit At", recs[0].At)
			})
		}
	})
}

func sameSession(a, b Session) bool {
	var ma, mb any
	json.Unmarshal(a.Meta, &ma)
	json.Unmarshal(b.Meta, &mb)
	// JSONB rewrites a document's spacing, so compare meanings.
	a.Meta, b.Meta = nil, nil
	ja, _ := json.Marshal(ma)
	jb, _ := json.Marshal(mb)
	return dump(a) == dump(b) && string(ja) == string(jb) && a.TmuxName == b.TmuxName && a.OutputOffset == b.OutputOffset
}

func dump(s Session) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func idsOf(ss []Session) string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, ",")
}

func TestCreateSessions(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		batch := []*Session{{ID: "b1", Project: "p", Agent: "a", Status: "ended"}, {ID: "b2", Project: "p", Agent: "a", Status: "ended"}}
		if err := s.CreateSessions(ctx, batch); err != nil {
			t.Fatal(err)
		}
		// One bad row (a duplicate id) and the whole batch is refused.
		bad := []*Session{{ID: "b3", Project: "p", Agent: "a", Status: "ended"}, {ID: "b1", Project: "p", Agent: "a", Status: "ended"}}
		if err := s.CreateSessions(ctx, bad); err == nil {
			t.Fatal("CreateSessions accepted a duplicate id")
		}
		if got, _ := s.ListSessions(ctx, SessionFilter{}); len(got) != 2 {
			t.Errorf("after a failed batch: %d sessions, want 2 (all or nothing)", len(got))
		}
	})
}

func TestTransitionSession(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		s.CreateSession(ctx, &Session{ID: "t1", Project: "p", Agent: "a", Status: "starting"})
		if err := s.TransitionSession(ctx, "t1", []string{"starting"}, "running", nil, nil); err != nil {
			t.Fatal(err)
		}
		// The second of two concurrent changes finds the status moved on.
		if err := s.TransitionSession(ctx, "t1", []string{"starting"}, "running", nil, nil); !errors.Is(err, ErrStatusChanged) || !isKind(err, errdefs.Conflict) {
			t.Errorf("second transition from starting: %v, want ErrStatusChanged", err)
		}
		code := 3
		if err := s.TransitionSession(ctx, "t1", []string{"starting", "running"}, "exited", &code, ptr(time.Now())); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetSession(ctx, "t1"); got.Status != "exited" || got.ExitCode == nil || *got.ExitCode != 3 || got.EndedAt == nil {
			t.Errorf("after the transition: %+v", got)
		}
		if err := s.TransitionSession(ctx, "nope", []string{"running"}, "ended", nil, nil); !errors.Is(err, ErrNotFound) || !isKind(err, errdefs.NotFound) {
			t.Errorf("unknown session: %v, want ErrNotFound", err)
		}
	})
}

// isKind: the store classifies its failures where they are born, so the
// HTTP layer maps them without knowing the store.
func isKind(err error, k errdefs.Kind) bool {
	got, ok := errdefs.KindOf(err)
	return ok && got == k
}
