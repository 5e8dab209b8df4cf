// Package apitype holds the JSON shapes of the API, shared by the daemon and
// telec so that the client links none of the server.
package apitype

import (
	"encoding/json"
	"time"

	"github.com/instruktai/teleclaude/internal/prefs"
)

// Whoami is the body of GET /v1/whoami. Person is null for public callers.
type Whoami struct {
	UID        int     `json:"uid"`
	GID        int     `json:"gid"`
	PID        int     `json:"pid"`
	OSUsername string  `json:"os_username"`
	Person     *string `json:"person"`
	Role       string  `json:"role"`
	// Reason is the identity ladder's explanation of the decision.
	Reason string `json:"reason"`
	// Preferences are the caller's, as the daemon received and checked them.
	Preferences prefs.Preferences `json:"preferences"`
}

// Status is the body of GET /v1/status.
type Status struct {
	Version   string         `json:"version"`
	Mode      string         `json:"mode"`
	Computer  string         `json:"computer"`
	Socket    string         `json:"socket"`
	PID       int            `json:"pid"`
	StartedAt time.Time      `json:"started_at"`
	Uptime    float64        `json:"uptime_seconds"`
	Database  DatabaseStatus `json:"database"`
	// What sessions can be started with here: project and agent names.
	Projects     []string `json:"projects"`
	Agents       []string `json:"agents"`
	DefaultAgent string   `json:"default_agent"`
	// Sessions says whether sessions can run, and how ("systemd" or
	// "direct"), or why not.
	Sessions SessionsStatus `json:"sessions"`
}

// SessionsStatus is part of Status.
type SessionsStatus struct {
	Available bool   `json:"available"`
	Host      string `json:"host,omitempty"`
	Problem   string `json:"problem,omitempty"`
	// Orphaned counts sessions whose owner's uid has no account any more,
	// names another account than the one that started them, or now maps
	// to another person (a uid given again): nobody can reach them but an
	// admin. Counted at most once a minute.
	Orphaned int `json:"orphaned,omitempty"`
}

// DatabaseStatus is part of Status.
type DatabaseStatus struct {
	Engine        string `json:"engine"`
	SchemaVersion int64  `json:"schema_version"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	// Fix, when the daemon knows one, is what the caller can do about it,
	// written for them.
	Fix string `json:"fix,omitempty"`
}

// Session is a session's metadata, as GET /v1/sessions lists it.
// OwnerPerson and OwnerUID are null for unowned (legacy) sessions.
type Session struct {
	ID          string     `json:"id"`
	OwnerPerson *string    `json:"owner_person"`
	OwnerUID    *int64     `json:"owner_uid"`
	Project     string     `json:"project"`
	ProjectPath string     `json:"project_path"`
	Agent       string     `json:"agent"`
	Title       string     `json:"title"`
	Status      string     `json:"status"` // running | exited | ended | lost
	ExitCode    *int       `json:"exit_code"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	EndedAt     *time.Time `json:"ended_at"`
}

// StartRequest is the body of POST /v1/sessions. An empty Agent means the
// machine's default agent.
type StartRequest struct {
	Project string `json:"project"`
	Agent   string `json:"agent,omitempty"`
	Title   string `json:"title,omitempty"`
}

// StartResponse answers POST /v1/sessions.
type StartResponse struct {
	ID      string  `json:"id"`
	Notice  string  `json:"notice"`
	Session Session `json:"session"`
}

// InputRequest is the body of POST /v1/sessions/{id}/input. Enter (default
// true) presses Enter after the text.
type InputRequest struct {
	Text  string `json:"text"`
	Enter *bool  `json:"enter,omitempty"`
}

// HeaderMore, "true" on a transcript page, says there are entries after
// it: read on with after= the last entry's seq.
const HeaderMore = "X-Teleclaude-More"

// TranscriptEntry is one entry of GET /v1/sessions/{id}/transcript.
type TranscriptEntry struct {
	Seq       int64     `json:"seq"`
	Direction string    `json:"direction"` // in | out
	Content   string    `json:"content"`
	At        time.Time `json:"at"`
}

// Attach answers GET /v1/sessions/{id}/attach: the owner's tmux server
// and the session in it.
type Attach struct {
	Socket string `json:"socket"`
	Target string `json:"target"`
}

// AuditRecord is one record of GET /v1/audit and /v1/audit/mine.
type AuditRecord struct {
	ID                int64           `json:"id"`
	ActorPerson       *string         `json:"actor_person"`
	ActorUID          int64           `json:"actor_uid"`
	ActorPID          int64           `json:"actor_pid"`
	Action            string          `json:"action"`
	TargetSessionID   *string         `json:"target_session_id"`
	TargetOwnerPerson *string         `json:"target_owner_person"`
	TargetOwnerUID    *int64          `json:"target_owner_uid"`
	Detail            json.RawMessage `json:"detail,omitempty"`
	At                time.Time       `json:"at"`
}

// Doc is a shared doc; Content only from GET /v1/docs/{name}.
type Doc struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"` // the lowest role that may read it
	Size      int64     `json:"size"`
	UpdatedAt time.Time `json:"updated_at"`
	Shipped   bool      `json:"shipped"`
	Content   string    `json:"content,omitempty"`
}

// DocPut is the body of PUT /v1/docs/{name}.
type DocPut struct {
	Content string `json:"content"`
}
