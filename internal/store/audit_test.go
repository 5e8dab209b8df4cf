package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAudit(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		for _, ss := range []*Session{
			{ID: "bob1", OwnerPerson: ptr("bob"), OwnerUID: ptr(int64(1002)), Project: "p", Agent: "a", Status: "running"},
			{ID: "bob2", OwnerPerson: ptr("bob"), OwnerUID: ptr(int64(1002)), Project: "p", Agent: "a", Status: "running"},
			{ID: "carl1", OwnerPerson: ptr("carl"), OwnerUID: ptr(int64(1003)), Project: "p", Agent: "a", Status: "running"},
			{ID: "old1", Project: "p", Agent: "a", Status: "exited"},
		} {
			if err := s.CreateSession(ctx, ss); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		in := []AuditRecord{
			{ActorPerson: ptr("ada"), ActorUID: 1001, ActorPID: 42, Action: "transcript.read", TargetSessionID: ptr("bob1"), TargetOwnerPerson: ptr("bob"), TargetOwnerUID: ptr(int64(1002)), Detail: json.RawMessage(`{"as_admin":true}`), At: t0},
			{ActorPerson: ptr("ada"), ActorUID: 1001, ActorPID: 43, Action: "session.end", TargetSessionID: ptr("carl1"), TargetOwnerPerson: ptr("carl"), TargetOwnerUID: ptr(int64(1003)), At: t0.Add(time.Minute)},
			{ActorUID: 0, ActorPID: 1, Action: "daemon.note", At: t0.Add(2 * time.Minute)},
			{ActorPerson: ptr("eve"), ActorUID: 1004, ActorPID: 44, Action: "transcript.read", TargetSessionID: ptr("bob2"), TargetOwnerPerson: ptr("bob"), TargetOwnerUID: ptr(int64(1002)), At: t0.Add(3 * time.Minute)},
			{ActorPerson: ptr("ada"), ActorUID: 1001, ActorPID: 45, Action: "transcript.read", TargetSessionID: ptr("old1"), At: t0.Add(4 * time.Minute)},
		}
		var ids []int64
		for i, r := range in {
			got, err := s.AppendAudit(ctx, r)
			if err != nil {
				t.Fatalf("AppendAudit(%s): %v", r.Action, err)
			}
			if got.ID <= 0 || len(ids) > 0 && got.ID <= ids[len(ids)-1] {
				t.Errorf("record %d: ID %d, want a positive ID above the previous ones %v", i, got.ID, ids)
			}
			ids = append(ids, got.ID)
		}
		before := time.Now()
		now, err := s.AppendAudit(ctx, AuditRecord{ActorUID: 5, ActorPID: 5, Action: "no.time"})
		if err != nil || now.At.Before(before.Add(-time.Second)) || now.At.After(time.Now().Add(time.Second)) {
			t.Errorf("AppendAudit without At = %+v, %v; want At set to now", now, err)
		}

		// Indexes into in (plus 5 for the no.time record).
		tests := []struct {
			name string
			f    AuditFilter
			want []int
		}{
			{"all", AuditFilter{}, []int{0, 1, 2, 3, 4, 5}},
			{"actor", AuditFilter{ActorPerson: "ada"}, []int{0, 1, 4}},
			{"session", AuditFilter{SessionID: "carl1"}, []int{1}},
			{"about bob's sessions", AuditFilter{SessionOwnerUID: ptr(int64(1002))}, []int{0, 3}},
			{"about nobody's sessions", AuditFilter{SessionOwnerUID: ptr(int64(4242))}, nil},
			{"about bob's sessions, by ada", AuditFilter{SessionOwnerUID: ptr(int64(1002)), ActorPerson: "ada"}, []int{0}},
			{"since is inclusive", AuditFilter{Since: t0.Add(3 * time.Minute)}, []int{3, 4, 5}},
			{"since, in another zone", AuditFilter{Since: t0.Add(3 * time.Minute).In(time.FixedZone("X", -7*3600))}, []int{3, 4, 5}},
			{"since the future", AuditFilter{Since: time.Now().Add(time.Hour)}, nil},
			{"limit", AuditFilter{Limit: 2}, []int{0, 1}},
			{"limit with a filter", AuditFilter{ActorPerson: "ada", Limit: 2}, []int{0, 1}},
		}
		ids = append(ids, now.ID)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListAudit(ctx, tt.f)
				if err != nil || got == nil {
					t.Fatalf("ListAudit: %v, %v; want a non-nil list", got, err)
				}
				var gotIDs, wantIDs []int64
				for _, r := range got {
					gotIDs = append(gotIDs, r.ID)
				}
				for _, i := range tt.want {
					wantIDs = append(wantIDs, ids[i])
				}
				if !slices.Equal(gotIDs, wantIDs) {
					t.Errorf("ListAudit IDs = %v, want %v", gotIDs, wantIDs)
				}
			})
		}

		got, err := s.ListAudit(ctx, AuditFilter{SessionID: "bob1"})
		if err != nil || len(got) != 1 {
			t.Fatalf("ListAudit(bob1) = %+v, %v; want one record", got, err)
		}
		want := in[0]
		if g := got[0]; *g.ActorPerson != "ada" || g.ActorUID != 1001 || g.ActorPID != 42 || g.Action != want.Action ||
			*g.TargetSessionID != "bob1" || g.TargetOwnerPerson == nil || *g.TargetOwnerPerson != "bob" ||
			g.TargetOwnerUID == nil || *g.TargetOwnerUID != 1002 || !g.At.Equal(t0) || !strings.Contains(string(g.Detail), `"as_admin"`) {
			t.Errorf("record = %+v (detail %s), want %+v", g, g.Detail, want)
		}
		if got, _ := s.ListAudit(ctx, AuditFilter{}); len(got) < 3 || got[2].ActorPerson != nil || got[2].TargetSessionID != nil || got[2].Detail != nil {
			t.Errorf("record without person, target or detail = %+v, want nils", got[2])
		}
	})
}

func TestAuditInvalid(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		s := open(t, cfg)
		tests := []struct {
			name string
			r    AuditRecord
			want string
		}{
			{"no action", AuditRecord{ActorUID: 1}, "no action"},
			{"detail not JSON", AuditRecord{ActorUID: 1, Action: "x", Detail: json.RawMessage("{nope")}, "detail is not valid JSON"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := s.AppendAudit(context.Background(), tt.r); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want it to contain %q", err, tt.want)
				}
			})
		}
	})
}

// TestAuditAppendOnly goes around the store's API, as a person with the
// database would, and expects the database itself to refuse.
func TestAuditAppendOnly(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		if _, err := s.AppendAudit(ctx, AuditRecord{ActorUID: 1, ActorPID: 1, Action: "x"}); err != nil {
			t.Fatal(err)
		}
		stmts := []string{
			"UPDATE audit_log SET action = 'y'",
			"UPDATE audit_log SET actor_uid = 0 WHERE id = 1",
			"DELETE FROM audit_log",
			"DELETE FROM audit_log WHERE id = 1",
			"INSERT INTO audit_log (id, actor_uid, actor_pid, action, at) VALUES (1, 0, 0, 'replaced', '2026-01-01T00:00:00Z') ON CONFLICT (id) DO UPDATE SET action = 'replaced'",
		}
		if cfg.Engine == PostgreSQL {
			stmts = append(stmts, "TRUNCATE audit_log", "TRUNCATE audit_log CASCADE")
		} else {
			// REPLACE deletes the old row without firing DELETE triggers.
			stmts = append(stmts,
				"REPLACE INTO audit_log (id, actor_uid, actor_pid, action, at) VALUES (1, 0, 0, 'replaced', '2026-01-01T00:00:00.000000Z')",
				"INSERT OR REPLACE INTO audit_log (id, actor_uid, actor_pid, action, at) VALUES (1, 0, 0, 'replaced', '2026-01-01T00:00:00.000000Z')")
		}
		for _, q := range stmts {
			t.Run(strings.Join(strings.Fields(q)[:2], " "), func(t *testing.T) {
				if _, err := s.DB().ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: err = %v, want the database to refuse it (append-only)", q, err)
				}
			})
		}
		got, _ := s.ListAudit(ctx, AuditFilter{})
		if len(got) != 1 || got[0].Action != "x" || got[0].ActorUID != 1 {
			t.Errorf("audit log after the attempts: %+v, want the one record unchanged", got)
		}
	})
}
