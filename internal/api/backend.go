package api

import (
	"context"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/docs"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/sessions"
)

// Backend is what the API needs from the daemon.
type Backend interface {
	// Status reports the daemon's state; it must be cheap.
	Status(ctx context.Context) (apitype.Status, error)
	// Healthy returns nil when the daemon can serve (database reachable).
	Healthy(ctx context.Context) error
}

// Sessions is what the session routes need; *sessions.Manager is it. It
// takes decisions (who may see, read, type, end) itself: the routes only
// carry the caller's identity to it.
type Sessions interface {
	Start(ctx context.Context, c identity.Identity, req sessions.StartRequest) (sessions.Session, error)
	List(ctx context.Context, c identity.Identity) ([]sessions.Session, error)
	Get(ctx context.Context, c identity.Identity, id string) (sessions.Session, error)
	Send(ctx context.Context, c identity.Identity, id, text string, enter bool) error
	Transcript(ctx context.Context, c identity.Identity, id string, asAdmin bool, after int64, limit int) ([]sessions.TranscriptEntry, bool, error)
	End(ctx context.Context, c identity.Identity, id string) (sessions.Session, error)
	Attach(ctx context.Context, c identity.Identity, id string) (socket, target string, err error)
	Audit(ctx context.Context, f sessions.AuditFilter) ([]sessions.AuditRecord, error)
	AuditMine(ctx context.Context, c identity.Identity, f sessions.AuditFilter) ([]sessions.AuditRecord, error)
	// Generation moves whenever a list may have changed.
	Generation() uint64
}

// Docs is what the docs routes need; *docs.Library is it.
type Docs interface {
	List(role identity.Role) ([]docs.Doc, error)
	Get(role identity.Role, name string) (docs.Doc, error)
	Put(ctx context.Context, role identity.Role, person, name string, content []byte) (docs.Doc, bool, error)
}

var (
	_ Sessions = (*sessions.Manager)(nil)
	_ Docs     = (*docs.Library)(nil)
)

func sessionOut(s sessions.Session) apitype.Session {
	return apitype.Session{
		ID: s.ID, OwnerPerson: s.OwnerPerson, OwnerUID: s.OwnerUID, Project: s.Project, ProjectPath: s.ProjectPath,
		Agent: s.Agent, Title: s.Title, Status: s.Status, ExitCode: s.ExitCode,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, EndedAt: s.EndedAt,
	}
}

func auditOut(rs []sessions.AuditRecord) []apitype.AuditRecord {
	out := make([]apitype.AuditRecord, len(rs))
	for i, r := range rs {
		out[i] = apitype.AuditRecord{
			ID: r.ID, ActorPerson: r.ActorPerson, ActorUID: r.ActorUID, ActorPID: r.ActorPID, Action: r.Action,
			TargetSessionID: r.TargetSessionID, TargetOwnerPerson: r.TargetOwnerPerson, TargetOwnerUID: r.TargetOwnerUID,
			Detail: r.Detail, At: r.At,
		}
	}
	return out
}

func docOut(d docs.Doc) apitype.Doc {
	return apitype.Doc{Name: d.Name, Role: d.Role.String(), Size: d.Size, UpdatedAt: d.UpdatedAt, Shipped: d.Shipped, Content: d.Content}
}
